using Distributed.Coordinator.Metrics;
using Distributed.Tests.Coordinator;

namespace Distributed.Tests.Metrics;

/// <summary>The coordinator's metrics as the run feeds them, read back from the exposition a scrape gets: no network, no processes.</summary>
public sealed class RunMetricsTests
{
    [Fact]
    public async Task A_step_shows_its_progress_each_ranks_delivery_and_the_bytes_per_transport_and_a_leaver_counts_as_lost()
    {
        var metrics = new RunMetrics();
        using var h = new RunHarness(workers: 2, batchSize: 3, maxSteps: 4, evalInterval: 4, metrics: metrics);
        metrics.Started(h.Run.CompletedSteps, h.Run.TotalSteps);
        var (a, b) = (h.Join("a"), h.Join("b"));
        var (ta, tb) = h.AssignedBoth(a, b);
        var (la, lb) = (h.Open(a, ta), h.Open(b, tb));
        var before = await Scrape(metrics);

        h.SendGradient(a, ta, 0, 1f, loss: 2f);
        h.SendGradient(b, tb, 0, 4f, loss: 5f);
        h.Until(() => la.Closed.Count == 1 && lb.Closed.Count == 1, "the step closed");
        var after = await Scrape(metrics);
        h.Run.Leave(b, "stopped");
        var left = await Scrape(metrics);

        Assert.Equal((0, 4, 2, 0), (before["gpt_train_step"], before["gpt_train_total_steps"], before["gpt_workers_alive"], before["gpt_workers_lost_total"]));
        Assert.True(double.IsNaN(before["gpt_train_validation_loss"]));
        Assert.Equal(1, after["gpt_train_step"]);
        Assert.Equal(3.0, after["gpt_train_loss"], 5);   // (2*2 + 1*5) / 3, the batch-weighted mean
        Assert.Equal(la.Closed.Single().LearningRate, after["gpt_train_learning_rate"], 12);
        Assert.Equal(3 * 8, after["gpt_train_tokens_total"]);   // batch 3 × sequence 8
        // Both members' whole gradients, as float32, over the harness' transport.
        Assert.Equal(2 * h.Parameters * sizeof(float), after["gpt_allreduce_received_bytes_total{transport=\"recording\"}"]);
        Assert.Equal(2, after["gpt_allreduce_duration_seconds_count{transport=\"recording\"}"]);
        Assert.Equal((1, 1), (after["gpt_rank_step_duration_seconds_count{rank=\"0\"}"], after["gpt_rank_step_duration_seconds_count{rank=\"1\"}"]));
        Assert.True(after["gpt_rank_step_duration_seconds_sum{rank=\"0\"}"] > 0);
        Assert.Equal((1, 1), (left["gpt_workers_alive"], left["gpt_workers_lost_total"]));
    }

    private static async Task<PrometheusText> Scrape(RunMetrics metrics)
    {
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream);
        return new PrometheusText(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }
}

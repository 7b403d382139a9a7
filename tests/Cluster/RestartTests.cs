using System.Text.Json;
using Distributed.Models.Checkpoints;
using Distributed.Models.Training;

namespace Distributed.Tests.Cluster;

/// <summary>A coordinator killed mid-run and started again resumes from its checkpoint, and the workers it had finish the run with it.</summary>
public sealed class RestartTests : IDisposable
{
    private const int Steps = 400;
    private readonly ClusterRun _run = new(characters: 24_000);

    public void Dispose() => _run.Dispose();

    [Fact]
    public async Task A_coordinator_killed_with_SIGKILL_and_started_again_with_resume_auto_is_finished_by_the_same_two_workers()
    {
        var port = ClusterProcess.FreePort();
        // The same command both times, as a Kubernetes pod restarted in place runs it.
        string[] serve = ["serve", "--port", port.ToString(), "--bind", "127.0.0.1", "--workers", "2", "--timeout", "3", "--resume", "auto",
            .. _run.RunArguments("run", "num_epochs=10", $"max_steps={Steps}", "eval_interval=20")];
        var folder = _run.Folder("run");
        var first = ClusterProcess.Coordinator(_run.Token, serve);
        ClusterProcess? second = null;
        var workers = new List<ClusterProcess>();
        try
        {
            await first.WaitFor("--resume auto: no checkpoint in .*; starting the run afresh", TimeSpan.FromSeconds(60));
            await first.WaitFor("Coordinator listening", TimeSpan.FromSeconds(60));
            workers.AddRange(Enumerable.Range(0, 2).Select(k => ClusterProcess.Worker(_run.Token, port, 0, $"w{k}", "--timeout", "30", "--rejoin-timeout", "120")));
            var checkpointed = await CheckpointAtLeast(folder, 40, TimeSpan.FromSeconds(180), first);
            first.Kill();
            // SIGKILL: no graceful stop, no checkpoint of its own on the way out.
            Assert.Equal(137, await first.WaitForExit(TimeSpan.FromSeconds(10)));
            Assert.DoesNotContain("Interrupted", first.Output);
            Assert.True(checkpointed < Steps, $"the run was over (step {checkpointed}) before the coordinator was killed");
            Assert.All(workers, w => Assert.False(w.HasExited, $"a worker exited with its coordinator:\n{w.Output}"));

            second = ClusterProcess.Coordinator(_run.Token, serve);
            await second.WaitFor("--resume auto: resuming from the checkpoint in", TimeSpan.FromSeconds(60));
            Assert.Equal(0, await second.WaitForExit(TimeSpan.FromSeconds(240)));
            foreach (var worker in workers)
            {
                Assert.Equal(0, await worker.WaitForExit(TimeSpan.FromSeconds(60)));
                Assert.Contains("Trying to rejoin", worker.Output);
                Assert.Contains("Rejoined the same run", worker.Output);
            }
            // The restarted coordinator trained with exactly those two processes, from the checkpoint on.
            Assert.Matches(@"Worker w0 \(\S+\) joined", second.Output);
            Assert.Matches(@"Worker w1 \(\S+\) joined", second.Output);
            var summary = JsonSerializer.Deserialize<RunSummary>(File.ReadAllText(Path.Combine(folder, TrainingJob.SummaryFile)))!;
            Assert.False(summary.Interrupted);
            Assert.Equal(Steps, summary.Steps);
            var evaluated = MetricsLog.Read(folder).Select(r => r.Step).ToList();
            Assert.Contains(evaluated, step => step <= checkpointed);
            Assert.Contains(Steps, evaluated);
            // One row per evaluation, in order: none left over from the steps after the checkpoint that were trained again.
            Assert.Equal(evaluated.Order().Distinct(), evaluated);
            Assert.True(evaluated.Count(step => step > checkpointed) >= (Steps - checkpointed) / 20, $"evaluations after step {checkpointed}: {string.Join(", ", evaluated)}");
        }
        finally
        {
            first.Dispose();
            second?.Dispose();
            workers.ForEach(w => w.Dispose());
        }
    }

    [Fact]
    public async Task A_worker_refuses_to_rejoin_a_restarted_coordinator_that_trains_another_model()
    {
        var port = ClusterProcess.FreePort();
        string[] Serve(string output, params string[] overrides)
            => ["serve", "--port", port.ToString(), "--bind", "127.0.0.1", "--workers", "1", "--timeout", "3", .. _run.RunArguments(output, ["num_epochs=10", .. overrides])];
        using var first = ClusterProcess.Coordinator(_run.Token, Serve("first"));
        await first.WaitFor("Coordinator listening", TimeSpan.FromSeconds(60));
        using var worker = ClusterProcess.Worker(_run.Token, port, 0, "w0", "--timeout", "30", "--rejoin-timeout", "60");
        await first.WaitFor(@"All \d+ workers joined", TimeSpan.FromSeconds(60));
        first.Kill();
        await first.WaitForExit(TimeSpan.FromSeconds(10));

        // Same address and token, another model: not the run this worker belongs to.
        using var other = ClusterProcess.Coordinator(_run.Token, Serve("other", "embedding_size=32"));

        Assert.Equal(2, await worker.WaitForExit(TimeSpan.FromSeconds(90)));
        Assert.Contains("now trains another model", worker.Output);
    }

    /// <summary>Waits for a finished checkpoint at <paramref name="step"/> or later in <paramref name="folder"/>; returns its step.</summary>
    private static async Task<int> CheckpointAtLeast(string folder, int step, TimeSpan timeout, ClusterProcess coordinator)
    {
        var giveUp = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < giveUp)
        {
            // The coordinator writes as this reads: a manifest in place means a finished checkpoint, and state.json,
            // once there, is only ever replaced by a rename.
            var state = Path.Combine(folder, CheckpointStore.StateFile);
            if (File.Exists(Path.Combine(folder, CheckpointStore.ManifestFile)) && File.Exists(state)
                && TrainingState.FromJson(File.ReadAllText(state)).Step is var saved && saved >= step)
            {
                return saved;
            }
            await Task.Delay(20);
        }
        throw new TimeoutException($"No checkpoint at step {step} or later in {folder} within {timeout.TotalSeconds} s. Coordinator:\n{coordinator.Output}");
    }
}

using System.Net;
using System.Text.RegularExpressions;
using Distributed.Protocol;
using Distributed.Tests.Metrics;

namespace Distributed.Tests.Cluster;

/// <summary>
/// What Prometheus scrapes from a real `train --workers 2 --metrics-port 0`: the coordinator's and a
/// worker's /metrics in cleartext HTTP/1.1, valid for promtool, with the numbers an operator watches
/// moving while the run trains; nothing but GET /metrics (and the coordinator's dashboard) answered.
/// </summary>
public sealed class MetricsTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    // Long enough that the test stops it (SIGTERM) while it trains; an evaluation (and its checkpoint) every 40 steps.
    private readonly ClusterRun _run = new(new Models.GptConfig
    {
        NumLayers = 1, NumHeads = 2, EmbeddingSize = 16, MaxSequenceLength = 8, BatchSize = 8,
        LearningRate = 3e-3, MinLearningRate = 3e-4, WarmupSteps = 5, NumEpochs = 1000, MaxSteps = 100_000, EvalInterval = 40, Dropout = 0,
    });

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public void Dispose()
    {
        _http.Dispose();
        _run.Dispose();
    }

    [PromtoolFact]
    public async Task Coordinator_and_worker_serve_valid_metrics_that_move_while_the_run_trains()
    {
        using var coordinator = ClusterProcess.Coordinator(_run.Token,
            ["train", "--workers", "2", "--threads", "1", "--metrics-port", "0", .. _run.RunArguments("run")]);
        var url = (await coordinator.WaitFor(@"Metrics: (http://127\.0\.0\.1:\d+/metrics)", Patience)).Groups[1].Value;
        var parameters = double.Parse((await coordinator.WaitFor(@"([\d,]+) parameters", Patience)).Groups[1].Value.Replace(",", ""));

        // After the first evaluation: a validation loss and a checkpoint.
        var first = await ScrapeUntil(url, m => m["gpt_train_validation_loss"] > 0 && m["gpt_checkpoint_duration_seconds_count"] >= 1, coordinator);
        var second = await ScrapeUntil(url, m => m["gpt_train_step"] > first["gpt_train_step"], coordinator);
        var workerUrl = (await WaitForLine(Path.Combine(_run.Folder("run"), "logs", "worker-0.log"), @"Metrics: (http://127\.0\.0\.1:\d+/metrics)", coordinator)).Groups[1].Value;
        var worker = await ScrapeUntil(workerUrl, m => m["gpt_worker_step"] > 0, coordinator);

        foreach (var (what, scrape) in new[] { ("coordinator", second), ("worker", worker) })
        {
            var (exitCode, verdict) = Promtool.CheckMetrics(scrape.Text);
            Assert.True(exitCode == 0 && verdict.Length == 0, $"promtool check metrics on the {what}'s /metrics: exit {exitCode}\n{verdict}\n{scrape.Text}");
        }
        Assert.Equal(100_000, second["gpt_train_total_steps"]);
        Assert.True(second["gpt_train_tokens_total"] > first["gpt_train_tokens_total"]);
        Assert.InRange(second["gpt_train_loss"], 0.1, 10);
        Assert.InRange(second["gpt_train_validation_loss"], 0.1, 10);
        Assert.True(second["gpt_train_learning_rate"] > 0);
        Assert.Equal((2, 0), (second["gpt_workers_alive"], second["gpt_workers_lost_total"]));
        // Every step took both workers' whole float32 gradients, through shared memory (local workers' data plane).
        var bytes = second["gpt_allreduce_received_bytes_total{transport=\"shared-memory\"}"];
        Assert.True(bytes >= second["gpt_train_step"] * 2 * parameters * sizeof(float), $"{bytes} bytes for {second["gpt_train_step"]} steps of {parameters} parameters");
        Assert.True(second["gpt_allreduce_duration_seconds_count{transport=\"shared-memory\"}"] >= 2 * second["gpt_train_step"]);
        foreach (var rank in new[] { "0", "1" })
        {
            Assert.True(second[$"gpt_rank_step_duration_seconds_count{{rank=\"{rank}\"}}"] >= second["gpt_train_step"], $"rank {rank}'s step times");
        }
        Assert.Contains(second.Series, s => s.StartsWith("process_cpu_seconds_total", StringComparison.Ordinal));

        Assert.InRange(worker["gpt_worker_rank"], 0, 1);
        Assert.True(worker["gpt_worker_steps_total"] > 0);
        foreach (var phase in new[] { "compute", "allreduce", "optimizer" })
        {
            Assert.True(worker[$"gpt_worker_step_phase_seconds_count{{phase=\"{phase}\"}}"] > 0, phase);
            Assert.True(worker[$"gpt_worker_step_phase_seconds_sum{{phase=\"{phase}\"}}"] > 0, phase);
        }

        // Nothing else answers: not another path (but the dashboard's), not another method.
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(url.Replace("/metrics", "/metric"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.PostAsync(url, new StringContent(""))).StatusCode);
        var reply = await _http.GetAsync(url);
        Assert.Equal(MetricsListener.ContentType, reply.Content.Headers.ContentType?.ToString());

        coordinator.Terminate();
        Assert.Equal(0, await coordinator.WaitForExit(Patience));
    }

    [Fact]
    public async Task A_taken_metrics_port_is_refused_in_one_line_by_the_coordinator_and_by_a_worker()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        using var coordinator = ClusterProcess.Coordinator(_run.Token, ["train", "--workers", "1", "--metrics-port", port.ToString(), .. _run.RunArguments("run")]);
        using var worker = ClusterProcess.Worker(_run.Token, ClusterProcess.FreePort(), 0, "scraped", "--metrics-port", port.ToString());

        Assert.Equal(2, await coordinator.WaitForExit(Patience));
        Assert.Equal(2, await worker.WaitForExit(Patience));
        var message = $"--metrics-port {port} is in use on 127.0.0.1; pick another port, or 0 for any free one.";
        Assert.Contains($"Error: {message}{Environment.NewLine}", coordinator.Output);
        Assert.Contains($"worker: {message}{Environment.NewLine}", worker.Output);
        Assert.DoesNotContain("Coordinator listening", coordinator.Output);
    }

    /// <summary>Scrapes <paramref name="url"/> until <paramref name="ready"/> holds (bounded); fails with the process' output if the run ended first.</summary>
    private async Task<PrometheusText> ScrapeUntil(string url, Func<PrometheusText, bool> ready, ClusterProcess coordinator)
    {
        var giveUp = DateTime.UtcNow + Patience;
        PrometheusText? last = null;
        while (DateTime.UtcNow < giveUp && !coordinator.HasExited)
        {
            last = new PrometheusText(await _http.GetStringAsync(url));
            if (ready(last))
            {
                return last;
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"{url} never showed what was waited for within {Patience.TotalSeconds} s. Last scrape:\n{last?.Text}\nCoordinator:\n{coordinator.Output}");
    }

    /// <summary>Waits (bounded) for a line matching <paramref name="pattern"/> in a local worker's log file.</summary>
    private static async Task<Match> WaitForLine(string file, string pattern, ClusterProcess coordinator)
    {
        var giveUp = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < giveUp)
        {
            if (File.Exists(file))
            {
                using var reader = new StreamReader(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
                var match = Regex.Match(await reader.ReadToEndAsync(), pattern);
                if (match.Success)
                {
                    return match;
                }
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"No '{pattern}' in {file} within {Patience.TotalSeconds} s. Coordinator:\n{coordinator.Output}");
    }
}

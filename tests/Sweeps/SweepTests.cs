using System.Diagnostics;
using System.Text.Json;
using Distributed.Models.Experiments;
using Distributed.Tests.Cluster;
using Distributed.Tests.Training;

namespace Distributed.Tests.Sweeps;

/// <summary>Sweeps with real coordinator and worker processes on generated data.</summary>
public sealed class SweepTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("sweep-tests-");

    public void Dispose() => _directory.Delete(recursive: true);

    private string Output => Path.Combine(_directory.FullName, "out");

    /// <summary>A grid over learning rates on a tiny model; the last one makes training blow up.</summary>
    private string WriteSweep(string learningRates, int maxSteps = 120, string extra = "")
    {
        var data = TestCorpus.WriteFile(_directory.FullName, 12_000);
        var path = Path.Combine(_directory.FullName, "sweep.json");
        File.WriteAllText(path, $$"""
            {
              "base": { "num_layers": 1, "num_heads": 2, "embedding_size": 16, "max_sequence_length": 8, "batch_size": 8,
                        "max_steps": {{maxSteps}}, "num_epochs": 10, "eval_interval": 30, "warmup_steps": 5, "grad_clip": 0 },
              "strategy": "grid",
              "workers_per_trial": 1,
              "max_retries": 1,
              "keep": "all",
              {{extra}}
              "space": { "learning_rate": [{{learningRates}}] }
            }
            """);
        DataPath = data;
        return path;
    }

    private string DataPath { get; set; } = "";

    private ClusterProcess Sweep(string sweepPath, params string[] extra)
        => ClusterProcess.Coordinator("unused", ["sweep", "--config", sweepPath, "--data", DataPath, "--workers", "2", "--out", Output, "--timeout", "3", .. extra]);

    private IReadOnlyList<TrialRow> Trials()
    {
        using var store = ExperimentStore.Open(Path.Combine(Output, ExperimentStore.DefaultFileName));
        return store.Trials(store.Runs().Single().Id);
    }

    [Fact]
    public async Task Two_trials_run_at_once_every_metric_is_recorded_and_the_best_ranks_first()
    {
        using var sweep = Sweep(WriteSweep("0.003, 0.01, 8.0"));
        Assert.True(await sweep.WaitForExit(TimeSpan.FromSeconds(180)) == 0, sweep.Output);

        var trials = Trials();
        Assert.Equal(3, trials.Count);
        // Two workers, one per trial: the first two trials overlapped in time.
        Assert.True(trials[0].StartedAt < trials[1].FinishedAt && trials[1].StartedAt < trials[0].FinishedAt);
        using (var store = ExperimentStore.Open(Path.Combine(Output, ExperimentStore.DefaultFileName)))
        {
            Assert.Equal([30, 60, 90, 120], store.Evaluations(trials[0].Id).Select(e => e.Step));
        }
        var diverged = trials.Single(t => t.Index == 2);
        Assert.Equal(TrialStatus.StoppedEarly, diverged.Status);
        Assert.Contains("diverged", diverged.Reason);

        var csv = File.ReadAllLines(Path.Combine(Output, "results.csv"));
        var best = trials.Where(t => t.Status == TrialStatus.Completed).MinBy(t => t.BestValLoss)!;
        Assert.StartsWith($"1,{best.Index},", csv[1]);
        Assert.True(File.Exists(Path.Combine(Output, "loss_curves.png")));
    }

    [Fact]
    public async Task A_killed_worker_fails_only_its_trials_attempt_which_is_retried()
    {
        using var sweep = Sweep(WriteSweep("0.003, 0.005", maxSteps: 1500));
        // Mid-way through the trials, kill -9 one of the sweep's live worker processes.
        await sweep.WaitFor("trial \\d+: step 60 ", TimeSpan.FromSeconds(90));
        var victim = ChildWorkers(sweep.ProcessId).FirstOrDefault(p => !p.HasExited);
        Assert.NotNull(victim);
        victim.Kill();

        Assert.True(await sweep.WaitForExit(TimeSpan.FromSeconds(240)) == 0, sweep.Output);
        Assert.True(sweep.Output.Contains("lost a worker; retrying"), sweep.Output);
        var trials = Trials();
        Assert.All(trials, t => Assert.True(t.Status == TrialStatus.Completed || (t.Status == TrialStatus.Failed && t.Reason!.Contains("lost a worker"))));
        Assert.Contains(trials, t => t.Attempts == 2);
    }

    [Fact]
    public async Task A_resumed_sweep_does_not_run_finished_trials_again()
    {
        var sweepPath = WriteSweep("0.003, 0.004, 0.005, 0.006", maxSteps: 240);
        using (var first = Sweep(sweepPath))
        {
            await first.WaitFor("trial (\\d+): completed", TimeSpan.FromSeconds(120));
            first.Kill();
            await first.WaitForExit(TimeSpan.FromSeconds(30));
        }
        var done = Trials().Where(t => t.Status == TrialStatus.Completed).Select(t => t.Index).ToList();
        Assert.NotEmpty(done);

        using var resumed = Sweep(sweepPath, "--resume");
        Assert.True(await resumed.WaitForExit(TimeSpan.FromSeconds(240)) == 0, resumed.Output);
        foreach (var index in done)
        {
            Assert.DoesNotContain($"trial {index} (attempt", resumed.Output);
        }
        var trials = Trials();
        Assert.All(trials, t => Assert.Equal(TrialStatus.Completed, t.Status));
        Assert.All(trials.Where(t => done.Contains(t.Index)), t => Assert.Equal(1, t.Attempts));
    }

    [Fact]
    public async Task SIGTERM_stops_the_sweep_with_exit_0_and_leaves_its_unfinished_trials_to_resume()
    {
        // Two trials at a time: the other two are still waiting for workers when the stop comes.
        using var sweep = Sweep(WriteSweep("0.003, 0.004, 0.005, 0.006", maxSteps: 1500));
        await sweep.WaitFor("trial \\d+: step 60 ", TimeSpan.FromSeconds(90));
        sweep.Terminate();

        Assert.True(await sweep.WaitForExit(TimeSpan.FromSeconds(60)) == 0, sweep.Output);
        using (var store = ExperimentStore.Open(Path.Combine(Output, ExperimentStore.DefaultFileName)))
        {
            Assert.Equal(RunStatus.Interrupted, store.Runs().Single().Status);
        }
        Assert.All(Trials(), t => Assert.True(t.Status is TrialStatus.Running or TrialStatus.Pending, $"trial {t.Index} is {t.Status}"));
    }

    [Fact]
    public async Task The_dashboard_lists_every_trial_with_the_running_ones_live_step_and_shows_a_running_trials_curves()
    {
        using var sweep = Sweep(WriteSweep("0.003, 0.004, 0.005, 0.006", maxSteps: 1500));
        var url = (await sweep.WaitFor(@"Dashboard: (http://127\.0\.0\.1:\d+/)", TimeSpan.FromSeconds(90))).Groups[1].Value;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        // Until both running trials have closed a step and one has been evaluated (step 30).
        var giveUp = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        JsonElement snapshot;
        List<JsonElement> trials;
        do
        {
            Assert.True(DateTime.UtcNow < giveUp && !sweep.HasExited, $"The dashboard never showed two trials training. Output:\n{sweep.Output}");
            await Task.Delay(200);
            snapshot = JsonDocument.Parse(await http.GetStringAsync(url + "api/run")).RootElement;
            trials = snapshot.GetProperty("trials").EnumerateArray().ToList();
        }
        while (trials.Take(2).Any(t => t.GetProperty("step").GetInt32() == 0) || trials.All(t => t.GetProperty("best_val_loss").ValueKind != JsonValueKind.Number));

        Assert.Equal([0, 1, 2, 3], trials.Select(t => t.GetProperty("index").GetInt32()));
        Assert.Equal(["learning_rate=3.0e-03", "learning_rate=4.0e-03", "learning_rate=5.0e-03", "learning_rate=6.0e-03"],
            trials.Select(t => t.GetProperty("params").GetString()));
        // Two trials at a time, on one worker each; the others wait their turn.
        Assert.Equal(["running", "running", "pending", "pending"], trials.Select(t => t.GetProperty("status").GetString()));
        Assert.All(trials.Take(2), t => Assert.InRange(t.GetProperty("total_steps").GetInt32(), 1000, 1500));   // 10 epochs of the data, or max_steps
        Assert.All(trials.Take(2), t => Assert.InRange(t.GetProperty("train_loss").GetDouble(), 0.1, 10));
        var run = snapshot.GetProperty("run");
        Assert.StartsWith("trial 0, run ", run.GetProperty("title").GetString());
        Assert.True(run.GetProperty("train").GetProperty("steps").GetArrayLength() > 0);
        Assert.Single(run.GetProperty("workers").EnumerateArray());

        sweep.Terminate();
        Assert.True(await sweep.WaitForExit(TimeSpan.FromSeconds(60)) == 0, sweep.Output);
    }

    /// <summary>Worker processes whose parent is <paramref name="parent"/> (read from /proc).</summary>
    private static IEnumerable<Process> ChildWorkers(int parent)
        => Process.GetProcesses().Where(p =>
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{p.Id}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return int.Parse(fields[1]) == parent && File.ReadAllText($"/proc/{p.Id}/cmdline").Contains("worker");
            }
            catch (IOException)
            {
                return false;
            }
        });
}

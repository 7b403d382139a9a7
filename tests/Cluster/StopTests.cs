using System.Text.Json;
using Distributed.Models.Experiments;
using Distributed.Models.Training;

namespace Distributed.Tests.Cluster;

/// <summary>
/// SIGTERM (what Kubernetes and systemd send) stops a run as Ctrl+C does: the coordinator or trainer
/// checkpoints where it stands and exits 0, and a worker leaves the run, which goes on with the others.
/// The runs keep the default --timeout (10 s), so a worker that a busy machine starves of CPU for a few
/// seconds is not dropped for silence before the signal under test is sent.
/// </summary>
public sealed class StopTests : IDisposable
{
    private static readonly TimeSpan Start = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Finish = TimeSpan.FromSeconds(180);

    private readonly ClusterRun _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public async Task SIGTERM_before_the_first_evaluation_leaves_a_summary_without_losses_an_interrupted_record_and_a_checkpoint_that_resumes()
    {
        var folder = _run.Folder("run");
        // An evaluation only at step 1,000,000: the stop comes long before it.
        using (var train = ClusterProcess.Coordinator(_run.Token, ["train", "--threads", "1", .. _run.RunArguments("run", "num_epochs=10000", "eval_interval=1000000")]))
        {
            await train.WaitFor("training windows", Start);
            train.Terminate();
            Assert.Equal(0, await train.WaitForExit(Start));
            Assert.Contains("Interrupted (SIGTERM)", train.Output);
        }
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, TrainingJob.SummaryFile))).RootElement;
        Assert.Equal(JsonValueKind.Null, summary.GetProperty("val_loss").ValueKind);
        Assert.Equal(JsonValueKind.Null, summary.GetProperty("train_loss").ValueKind);
        Assert.True(summary.GetProperty("interrupted").GetBoolean());
        Assert.Equal(RunStatus.Interrupted, StoredRun(folder).Status);

        // No --out: the resumed run goes on in the folder it resumes.
        var stoppedAt = summary.GetProperty("steps").GetInt32();
        using var resumed = ClusterProcess.Coordinator(_run.Token,
            ["train", "--threads", "1", "--data", _run.DataPath, "--resume", folder, "--set", $"max_steps={stoppedAt + 20}"]);
        Assert.Equal(0, await resumed.WaitForExit(Finish));
        Assert.Contains("Resuming from", resumed.Output);
        var final = ReadSummary(folder);
        Assert.False(final.Interrupted);
        Assert.Equal(stoppedAt + 20, final.Steps);
        Assert.True(double.IsFinite(final.ValLoss));
        Assert.Equal(RunStatus.Completed, StoredRun(folder).Status);
    }

    [Fact]
    public async Task A_worker_stopped_with_SIGTERM_leaves_with_exit_0_and_the_run_finishes_with_the_other()
    {
        var port = ClusterProcess.FreePort();
        using var coordinator = ClusterProcess.Coordinator(_run.Token,
            ["serve", "--port", port.ToString(), "--bind", "127.0.0.1", "--workers", "2", .. _run.RunArguments("run", "num_epochs=4")]);
        await coordinator.WaitFor("Coordinator listening", Start);
        using var staying = ClusterProcess.Worker(_run.Token, port, 0, "w0");
        using var leaving = ClusterProcess.Worker(_run.Token, port, 0, "w1");

        await leaving.WaitFor(@"Generation \d+: rank \d of 2", Start);
        leaving.Terminate();

        Assert.Equal(0, await leaving.WaitForExit(Start));
        // Dropped because it said so, not because it went silent.
        await coordinator.WaitFor(@"Lost rank \d \(w1[^)]*\): left: SIGTERM", Start);
        Assert.Equal(0, await coordinator.WaitForExit(Finish));
        Assert.Equal(0, await staying.WaitForExit(Start));
        var summary = ReadSummary(_run.Folder("run"));
        Assert.False(summary.Interrupted);
        Assert.True(double.IsFinite(summary.ValLoss));
    }

    [Fact]
    public async Task A_coordinator_stopped_with_SIGTERM_checkpoints_and_serve_resume_finishes_the_run_with_a_new_worker()
    {
        var folder = _run.Folder("run");
        var port = ClusterProcess.FreePort();
        using (var coordinator = ClusterProcess.Coordinator(_run.Token,
                   ["serve", "--port", port.ToString(), "--bind", "127.0.0.1", "--workers", "1", .. _run.RunArguments("run", "num_epochs=4", "eval_interval=100")]))
        using (var worker = ClusterProcess.Worker(_run.Token, port, 0, "w0"))
        {
            await coordinator.WaitFor(@"step\s+\d+\s+epoch\s+0\s", Finish);
            coordinator.Terminate();
            Assert.Equal(0, await coordinator.WaitForExit(Start));
            Assert.Contains("Interrupted (SIGTERM)", coordinator.Output);
            // Told to stop by the coordinator on its way out, not left to find it gone.
            Assert.Equal(0, await worker.WaitForExit(Start));
        }
        var interrupted = ReadSummary(folder);
        Assert.True(interrupted.Interrupted);
        Assert.Equal(RunStatus.Interrupted, StoredRun(folder).Status);

        var resumedPort = ClusterProcess.FreePort();
        using var resumed = ClusterProcess.Coordinator(_run.Token,
            ["serve", "--port", resumedPort.ToString(), "--bind", "127.0.0.1", "--workers", "1", "--data", _run.DataPath, "--resume", folder]);
        await resumed.WaitFor("Coordinator listening", Start);
        using var newcomer = ClusterProcess.Worker(_run.Token, resumedPort, 0, "w-new");

        Assert.Equal(0, await resumed.WaitForExit(Finish));
        Assert.Contains("Resuming from", resumed.Output);
        var final = ReadSummary(folder);
        Assert.False(final.Interrupted);
        Assert.True(final.Steps > interrupted.Steps, $"{final.Steps} steps after resuming at {interrupted.Steps}");
        Assert.Equal(RunStatus.Completed, StoredRun(folder).Status);
    }

    private static RunSummary ReadSummary(string folder)
        => JsonSerializer.Deserialize<RunSummary>(File.ReadAllText(Path.Combine(folder, TrainingJob.SummaryFile)))!;

    /// <summary>The one run recorded in the folder's experiment store (a resumed run is the same run).</summary>
    private static RunRow StoredRun(string folder)
    {
        using var store = ExperimentStore.Open(Path.Combine(folder, ExperimentStore.DefaultFileName));
        return store.Runs().Single();
    }
}

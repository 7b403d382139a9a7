
namespace Distributed.Tests.Cluster;

/// <summary>
/// A coordinator and workers started the way a PyTorchJob (or Kubeflow Trainer) starts its pods: no
/// --workers, --port or --coordinator, only the launcher's variables; and a bad variable refused in one
/// line before anything starts.
/// </summary>
public sealed class LaunchRunTests : IDisposable
{
    private static readonly TimeSpan Run = TimeSpan.FromSeconds(120);

    private readonly ClusterRun _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public async Task A_run_started_only_through_the_launch_variables_trains_to_the_end()
    {
        var port = ClusterProcess.FreePort().ToString();
        using var coordinator = ClusterProcess.Start("coordinator", _run.Token,
            new Dictionary<string, string> { ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = port, ["WORLD_SIZE"] = "3", ["RANK"] = "0" },
            ["serve", .. _run.RunArguments("run", "max_steps=6")]);
        // PyTorchJob's names for one worker, Kubeflow Trainer's (PET_) for the other.
        using var first = ClusterProcess.Start("worker", _run.Token,
            new Dictionary<string, string> { ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = port, ["WORLD_SIZE"] = "3", ["RANK"] = "1" },
            "--threads", "1");
        using var second = ClusterProcess.Start("worker", _run.Token,
            new Dictionary<string, string> { ["PET_MASTER_ADDR"] = "127.0.0.1", ["PET_MASTER_PORT"] = port, ["PET_NNODES"] = "3", ["PET_NODE_RANK"] = "2" },
            "--threads", "1");

        Assert.Equal(0, await coordinator.WaitForExit(Run));
        Assert.Contains($"From the launch environment: --workers 2 (WORLD_SIZE=3, less the coordinator), --port {port} (MASTER_PORT={port}), " +
                        "--bind 127.0.0.1 (MASTER_ADDR=127.0.0.1).", coordinator.Output);
        Assert.Contains($"Coordinator listening on http://127.0.0.1:{port}", coordinator.Output);
        Assert.Contains(":rank1", coordinator.Output);
        Assert.Contains(":rank2", coordinator.Output);
        Assert.True(File.Exists(Path.Combine(_run.Folder("run"), "summary.json")), coordinator.Output);
        Assert.Equal(0, await first.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, await second.WaitForExit(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_bad_launch_variable_is_refused_in_one_line_naming_it_before_anything_starts()
    {
        using var worker = ClusterProcess.Start("worker", _run.Token,
            new Dictionary<string, string> { ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = "http" }, "--threads", "1");
        Assert.Equal(2, await worker.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Matches(@"^worker: MASTER_PORT 'http' is not a port number \(1 to 65535\)[^\n]*\r?\n$", worker.Output);

        using var coordinator = ClusterProcess.Start("coordinator", _run.Token,
            new Dictionary<string, string> { ["WORLD_SIZE"] = "3", ["PET_NNODES"] = "4" }, ["serve", .. _run.RunArguments("refused")]);
        Assert.Equal(2, await coordinator.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Matches(@"^Error: WORLD_SIZE=3 and PET_NNODES=4 disagree[^\n]*\r?\n$", coordinator.Output);
        Assert.False(Directory.Exists(_run.Folder("refused")));
    }
}

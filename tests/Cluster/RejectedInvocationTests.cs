namespace Distributed.Tests.Cluster;

/// <summary>
/// An invocation that cannot train is refused with exit code 2 and one line naming the problem and the
/// fix, before any data is read, and leaves nothing behind: no output folder, no experiment store.
/// </summary>
public sealed class RejectedInvocationTests : IDisposable
{
    private readonly ClusterRun _run = new();

    public void Dispose() => _run.Dispose();

    /// <summary>The data file does not exist: these are refused before it would be looked at.</summary>
    [Theory]
    [InlineData("serve --workers 0", "Error: --workers 0: a distributed run needs at least one worker; pass --workers N with N >= 1.")]
    [InlineData("train --workers -1", "Error: --workers -1 is negative; pass 0 (the default) to train in this process, or N >= 1 for N worker processes.")]
    [InlineData("serve --workers 2 --min-workers 3",
        "Error: --min-workers 3 is above --workers 2: the run would stop as soon as it started; lower --min-workers or raise --workers.")]
    [InlineData("train --workers 3 --set batch_size=2",
        "Error: batch_size 2 is smaller than --workers 3: every worker needs at least one sequence per step; raise batch_size or use fewer workers.")]
    [InlineData("train --workers 3 --set grad_accum_steps=4",
        "Error: batch_size 8 / grad_accum_steps 4 = 2 sequences per micro-batch is fewer than --workers 3: every worker needs at least one sequence per micro-batch; raise batch_size, lower grad_accum_steps or use fewer workers.")]
    [InlineData("train --workers 2 --metrics-port 70000",
        "Error: --metrics-port 70000 must be a port from 1 to 65535 other than --port and --health-port, or 0 for any free one; e.g. --metrics-port 9090.")]
    [InlineData("serve --workers 1 --health-port 8081 --metrics-port 8081",
        "Error: --metrics-port 8081 must be a port from 1 to 65535 other than --port and --health-port, or 0 for any free one; e.g. --metrics-port 9090.")]
    [InlineData("train --set num_layers=0", "Invalid configuration: num_layers 0 is out of range: must be 1..256")]
    [InlineData("train --set grad_accum_steps=3",
        "Invalid configuration: batch_size 8 must be divisible by grad_accum_steps 3 (try grad_accum_steps 2 or 4, or a batch_size that is a multiple of 3)")]
    public async Task Options_that_cannot_train_are_refused_before_the_data(string invocation, string message)
    {
        var missing = _run.Folder("missing.txt");
        var output = _run.Folder("out");
        var (command, rest) = (invocation.Split(' ')[0], invocation.Split(' ')[1..]);
        using var coordinator = ClusterProcess.Coordinator(_run.Token,
            [command, "--config", _run.ConfigPath, "--data", missing, "--out", output, "--port", "0", .. rest]);

        Assert.Equal(2, await coordinator.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains(message + Environment.NewLine, coordinator.Output);
        Assert.False(Directory.Exists(output), $"{output} was created");
    }

    [Theory]
    [InlineData("train")]
    [InlineData("serve")]
    public async Task An_empty_data_file_is_refused_in_one_line(string command)
    {
        var empty = _run.Folder("empty.txt");
        File.WriteAllText(empty, " \n");
        var output = _run.Folder("out");
        using var coordinator = ClusterProcess.Coordinator(_run.Token,
            [command, "--config", _run.ConfigPath, "--data", empty, "--out", output, .. command == "serve" ? new[] { "--workers", "1", "--port", "0" } : []]);

        Assert.Equal(2, await coordinator.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains($"Error: '{empty}' holds no text (2 bytes); pass a text file to train on with --data <path>.{Environment.NewLine}", coordinator.Output);
        Assert.False(Directory.Exists(output), $"{output} was created");
    }
}

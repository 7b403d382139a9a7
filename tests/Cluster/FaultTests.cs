using System.Text.Json;
using Distributed.Models.Training;

namespace Distributed.Tests.Cluster;

/// <summary>Runs that lose a worker carry on with the others.</summary>
public sealed class FaultTests : IDisposable
{
    private readonly ClusterRun _run = new(characters: 24_000);

    public void Dispose() => _run.Dispose();

    [Fact]
    public async Task Killing_one_of_three_workers_mid_epoch_finishes_the_run_close_to_an_uninterrupted_one()
    {
        string[] overrides = ["num_epochs=8"];   // long enough for a restarted worker to start and be admitted at an epoch end
        var baseline = TrainingJob.Run(new TrainingJobOptions
        {
            ConfigPath = _run.ConfigPath, Overrides = overrides, Data = _run.DataPath, OutputDirectory = _run.Folder("baseline"), Threads = 1,
        }, new Training.RecordingObserver(), _ => { });

        var port = ClusterProcess.FreePort();
        using var coordinator = ClusterProcess.Coordinator(_run.Token,
            ["serve", "--port", port.ToString(), "--bind", "127.0.0.1", "--workers", "3", "--timeout", "3", .. _run.RunArguments("faulty", overrides)]);
        await coordinator.WaitFor("Coordinator listening", TimeSpan.FromSeconds(30));
        var workers = Enumerable.Range(0, 3).Select(k => ClusterProcess.Worker(_run.Token, port, 0, $"w{k}")).ToList();
        try
        {
            // Early in the second epoch, kill -9 one worker.
            await coordinator.WaitFor(@"Generation \d+: 3 workers from step \d+ \(epoch 1\)", TimeSpan.FromSeconds(120));
            await Task.Delay(300);
            workers[1].Kill();
            // A restarted worker rejoins at the next epoch boundary.
            await coordinator.WaitFor(@"Lost rank \d \(w1", TimeSpan.FromSeconds(30));
            workers.Add(ClusterProcess.Worker(_run.Token, port, 0, "w1-restarted"));

            Assert.Equal(0, await coordinator.WaitForExit(TimeSpan.FromSeconds(180)));
            var afterLoss = coordinator.Output[coordinator.Output.IndexOf("Lost rank", StringComparison.Ordinal)..];
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(afterLoss, @"Generation \d+: 3 workers from step \d+ \(epoch [1-7]\): .*w1-restarted"), coordinator.Output);
            var summary = JsonSerializer.Deserialize<RunSummary>(File.ReadAllText(Path.Combine(_run.Folder("faulty"), TrainingJob.SummaryFile)))!;
            Assert.False(summary.Interrupted);
            Assert.True(Math.Abs(summary.ValLoss - baseline.ValLoss) <= 0.02 * baseline.ValLoss,
                $"val loss {summary.ValLoss:F4} with a lost worker vs {baseline.ValLoss:F4} uninterrupted");
        }
        finally
        {
            workers.ForEach(w => w.Dispose());
        }
    }
}

using Distributed.Coordinator.Data;
using Distributed.Coordinator.Search;
using Distributed.Models;
using Distributed.Models.Training;
using Distributed.Protocol;
using Spectre.Console;

namespace Distributed.Coordinator.Commands;

/// <summary>
/// What `train` and `serve` share, in an order that leaves nothing behind when the invocation is refused:
/// the config and options first (no data read, nothing written), then the data and tokenizer, then the
/// run's record in the experiment store, training with a progress display until the last step or a stop
/// (Ctrl+C or SIGTERM: a checkpoint where it stands, summary.json, the run recorded as interrupted, exit 0).
/// </summary>
public static class TrainingRun
{
    /// <param name="options">As read from the command line; its Data is the --data argument, resolved here.</param>
    /// <param name="check">Refuses options that do not fit the resolved config (e.g. a batch the workers cannot share).</param>
    /// <param name="train">Trains the prepared run, stopping between two steps when the token fires.</param>
    public static int Execute(TrainingJobOptions options, Action<GptConfig> check,
        Func<TrainingJobOptions, TrainingJob.PreparedRun, ITrainingObserver, CancellationToken, RunSummary> train, CancellationToken cancel)
    {
        // Listening from the start: a stop while the data is read ends like any other, at the first step boundary.
        using var stop = StopSignal.Listen(cancel);
        var resolved = TrainingJob.Resolve(options);
        check(resolved.Config);
        var job = options with { Data = CorpusArgument.Resolve(options.Data) };
        var prepared = TrainingJob.Prepare(job, resolved, TrainCommand.Log);
        using var record = new TrainRecord(job);
        RunSummary? summary = null;
        try
        {
            summary = ProgressDisplay.Run(display => train(job, prepared, record.Observe(display), stop.Token));
        }
        finally
        {
            record.Finish(summary, job.OutputDirectory);
        }
        Report(summary, job, stop.Received);
        return 0;
    }

    private static void Report(RunSummary summary, TrainingJobOptions job, string? signal)
    {
        var folder = Path.GetFullPath(job.OutputDirectory);
        var valLoss = double.IsFinite(summary.ValLoss) ? summary.ValLoss.ToString("F4") : "none yet";
        var outcome = !summary.Interrupted ? "Done" : signal is null ? "Interrupted" : $"Interrupted ({signal})";
        AnsiConsole.MarkupLineInterpolated(
            $"[bold]{outcome}[/]: step {summary.Steps}, val loss [green]{valLoss}[/], {summary.TokensPerSecond:N0} tokens/s, {summary.Seconds:F1} s training. Files in {folder}");
        if (summary.Interrupted)
        {
            AnsiConsole.MarkupLineInterpolated($"Continue with --resume {folder}");
        }
    }
}

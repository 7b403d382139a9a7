using System.Globalization;
using Distributed.Coordinator.Data;
using Distributed.Coordinator.Reports;
using Distributed.Coordinator.Search;
using Distributed.Models;
using Distributed.Models.Checkpoints;
using Distributed.Models.Training;
using Distributed.Protocol;
using Spectre.Console;

namespace Distributed.Coordinator.Commands;

/// <summary>
/// What `train` and `serve` share, in an order that leaves nothing behind when the invocation is refused:
/// the config and options first (no data read, nothing written), then the data and tokenizer, then the
/// run's record in the experiment store, training with a progress display until the last step or a stop
/// (Ctrl+C or SIGTERM: a checkpoint where it stands, summary.json, the run recorded as interrupted, exit 0),
/// then the loss chart and where the checkpoint is and how to go on from it.
/// </summary>
public static class TrainingRun
{
    /// <param name="options">As read from the command line; its Data is the --data argument, read here.</param>
    /// <param name="check">Refuses options that do not fit the resolved config (e.g. a batch the workers cannot share).</param>
    /// <param name="train">Trains the prepared run, stopping between two steps when the token fires.</param>
    /// <param name="command">The command, as the closing lines name it for resuming: train or serve.</param>
    public static int Execute(TrainingJobOptions options, Action<GptConfig> check,
        Func<TrainingJobOptions, TrainingJob.PreparedRun, ITrainingObserver, CancellationToken, RunSummary> train, CancellationToken cancel,
        string command = "train")
    {
        // Listening from the start: a stop while the data is read ends like any other, at the first step boundary.
        using var stop = StopSignal.Listen(cancel);
        var resolved = TrainingJob.Resolve(options);
        check(resolved.Config);
        var prepared = TrainingJob.Prepare(options, resolved, CorpusArgument.Read(options.Data), TrainCommand.Log);
        using var record = new TrainRecord(options);
        RunSummary? summary = null;
        try
        {
            summary = ProgressDisplay.Run(display => train(options, prepared, record.Observe(display), stop.Token));
        }
        finally
        {
            record.Finish(summary, options.OutputDirectory);
        }
        var chart = WriteLossChart(options.OutputDirectory);
        foreach (var line in Closing(summary, prepared.Config, options, command, stop.Received, chart))
        {
            TerminalLog.Markup(line);
        }
        return 0;
    }

    /// <summary>loss_curves.png from the run's metrics.jsonl (all its evaluations, resumed ones too); null when there is none yet or drawing failed.</summary>
    public static string? WriteLossChart(string outputDirectory)
    {
        if (!File.Exists(Path.Combine(outputDirectory, MetricsLog.FileName)))
        {
            return null;
        }
        var path = Path.GetFullPath(Path.Combine(outputDirectory, LossCurvesChart.FileName));
        try
        {
            var curve = MetricsLog.Read(outputDirectory).Select(r => new CurvePoint(r.Step, r.TrainLoss, r.ValLoss)).ToList();
            if (curve.Count == 0)
            {
                return null;
            }
            LossCurvesChart.WriteRun(path, $"Loss: {Path.GetFileName(Path.GetFullPath(outputDirectory))}", curve);
            return path;
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or InvalidOperationException)
        {
            // The run and its files are fine; only the picture is missing.
            TerminalLog.Warning($"Warning: could not draw {path}: {e.Message}");
            return null;
        }
    }

    /// <summary>
    /// The closing lines (Spectre markup): the outcome, where the checkpoint is, and the command that goes on
    /// from it — --resume after a stop, or --resume with more steps after a finished run.
    /// </summary>
    public static IReadOnlyList<string> Closing(RunSummary summary, GptConfig config, TrainingJobOptions job, string command, string? signal, string? chart)
    {
        var folder = Path.GetFullPath(job.OutputDirectory);
        var valLoss = double.IsFinite(summary.ValLoss) ? summary.ValLoss.ToString("F4", CultureInfo.InvariantCulture) : "none yet";
        var outcome = !summary.Interrupted ? "Done" : signal is null ? "Interrupted" : $"Interrupted ({signal})";
        var lines = new List<string>
        {
            Markup.Escape($"{outcome}: step {summary.Steps}, val loss ") + $"[green]{Markup.Escape(valLoss)}[/]" +
            Markup.Escape($", {summary.TokensPerSecond.ToString("N0", CultureInfo.InvariantCulture)} tokens/s, {summary.Seconds.ToString("F1", CultureInfo.InvariantCulture)} s training."),
        };
        if (!File.Exists(Path.Combine(folder, CheckpointStore.ManifestFile)))
        {
            lines.Add(Markup.Escape($"No checkpoint was written in {folder} (the run stopped before its first step); start it again with the same command."));
            return lines;
        }
        lines.Add(Markup.Escape($"Checkpoint (step {summary.Steps}): {folder}") + (chart is null ? "" : Markup.Escape($"; loss chart: {chart}")));
        var resume = $"{command} --resume {Quote(folder)}" + (job.Data == CorpusArgument.TinyShakespeare ? "" : $" --data {Quote(job.Data)}");
        if (summary.Interrupted)
        {
            lines.Add($"Resume with: [bold]{Markup.Escape(resume)}[/]");
        }
        else
        {
            var further = config.MaxSteps > 0 && summary.Steps >= config.MaxSteps
                ? $"--set max_steps={(2L * config.MaxSteps).ToString(CultureInfo.InvariantCulture)}"
                : $"--set num_epochs={(config.NumEpochs + 1).ToString(CultureInfo.InvariantCulture)}";
            lines.Add($"Train further with: [bold]{Markup.Escape($"{resume} {further}")}[/]; sample with: [bold]{Markup.Escape($"sample --checkpoint {Quote(folder)}")}[/]");
        }
        return lines;
    }

    private static string Quote(string path) => path.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '$' or '&' or ';') ? $"'{path.Replace("'", "'\\''")}'" : path;
}

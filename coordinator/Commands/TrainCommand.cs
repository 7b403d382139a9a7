using System.CommandLine;
using Distributed.Coordinator.Distributed;
using Distributed.Coordinator.Search;
using Distributed.Models.Training;
using Spectre.Console;

namespace Distributed.Coordinator.Commands;

/// <summary>
/// `train`: one training run with a progress bar, a line per evaluation and files in --out; with
/// --workers N, a data-parallel run over N worker processes on this machine.
/// </summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var training = new TrainingOptions();
        var distributed = new DistributedOptions();
        var workers = new Option<int>("--workers") { Description = "Train data-parallel with N worker processes on this machine (0: in this process).", DefaultValueFactory = _ => 0 };
        var command = new Command("train", "Train a GPT on a text file.") { workers };
        training.AddTo(command);
        distributed.AddTo(command);
        command.SetAction((result, cancel) => CommandErrors.Guard(() =>
        {
            var options = training.Read(result);
            var count = result.GetValue(workers);
            using var record = new TrainRecord(options);
            RunSummary? summary = null;
            try
            {
                summary = ProgressDisplay.Run((display, cancelRun) => count > 0
                    ? DistributedJob.Run(new DistributedJobOptions
                    {
                        Training = options,
                        Run = distributed.RunOptions(result, count, options.OutputDirectory),
                        LocalWorkers = count,
                        Port = result.GetValue(distributed.Port),
                    }, record.Observe(display), Log, cancelRun)
                    : TrainingJob.Run(options, record.Observe(display), Log, cancelRun), cancel);
            }
            finally
            {
                record.Finish(summary, options.OutputDirectory);
            }
            Report(summary, options.OutputDirectory);
            return 0;
        }));
        return command;
    }

    public static void Log(string line) => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]");

    public static void Report(RunSummary summary, string outputDirectory)
        => AnsiConsole.MarkupLineInterpolated(
            $"[bold]{(summary.Interrupted ? "Interrupted" : "Done")}[/]: step {summary.Steps}, val loss [green]{summary.ValLoss:F4}[/], {summary.TokensPerSecond:N0} tokens/s, {summary.Seconds:F1} s training. Files in {Path.GetFullPath(outputDirectory)}");
}

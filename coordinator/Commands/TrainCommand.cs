using System.CommandLine;
using Distributed.Models;
using Distributed.Models.Training;
using Spectre.Console;

namespace Distributed.Coordinator.Commands;

/// <summary>`train`: one training run, with a progress bar, a line per evaluation and files in --out.</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "JSON config file (see configs/)." };
        var data = new Option<string>("--data") { Description = "UTF-8 text file, or 'tinyshakespeare' (downloaded once into the cache).", Required = true };
        var output = new Option<string>("--out") { Description = "Output folder: checkpoint, model.onnx, metrics.jsonl, summary.json.", DefaultValueFactory = _ => "out" };
        var set = new Option<string[]>("--set") { Description = "Override a config field: --set learning_rate=3e-4 (repeatable).", AllowMultipleArgumentsPerToken = false };
        var resume = new Option<string?>("--resume") { Description = "Continue the run saved in this folder from its last checkpoint." };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime threads (0: every core).", DefaultValueFactory = _ => 0 };
        var command = new Command("train", "Train a GPT on a text file.") { config, data, output, set, resume, threads };
        command.SetAction((result, cancel) => CommandErrors.Guard(() =>
        {
            var options = new TrainingJobOptions
            {
                ConfigPath = result.GetValue(config),
                Overrides = result.GetValue(set) ?? [],
                Data = result.GetValue(data)!,
                OutputDirectory = result.GetValue(output)!,
                ResumeDirectory = result.GetValue(resume),
                Threads = result.GetValue(threads),
            };
            var summary = ProgressDisplay.Run((observer, cancelRun) =>
                TrainingJob.Run(options, observer, line => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]"), cancelRun), cancel);
            AnsiConsole.MarkupLineInterpolated(
                $"[bold]{(summary.Interrupted ? "Interrupted" : "Done")}[/]: step {summary.Steps}, val loss [green]{summary.ValLoss:F4}[/], {summary.TokensPerSecond:N0} tokens/s, {summary.Seconds:F1} s training. Files in {Path.GetFullPath(options.OutputDirectory)}");
            return 0;
        }));
        return command;
    }
}

using System.CommandLine;
using Distributed.Coordinator.Data;
using Distributed.Models.Training;

namespace Distributed.Coordinator.Commands;

/// <summary>The options of a training run, shared by `train` and `serve`.</summary>
public sealed class TrainingOptions
{
    public Option<string?> Config { get; } = new("--config") { Description = "JSON config file (see configs/)." };

    public Option<string> Data { get; } = new("--data")
    {
        Description = $"UTF-8 text file, or '{CorpusArgument.TinyShakespeare}' (shipped inside the program; the default).",
        DefaultValueFactory = _ => CorpusArgument.TinyShakespeare,
    };

    public Option<string?> Output { get; } = new("--out") { Description = "Output folder: checkpoint, model.onnx, metrics.jsonl, summary.json (default: the --resume folder, else 'out')." };

    public Option<string[]> Set { get; } = new("--set") { Description = "Override a config field: --set learning_rate=3e-4 (repeatable)." };

    public Option<string?> Resume { get; } = new("--resume") { Description = "Continue the run saved in this folder from its last checkpoint." };

    public Option<int> Threads { get; } = new("--threads") { Description = "ONNX Runtime threads (0: every core); for train --workers N, each worker's (0: the cores shared among them).", DefaultValueFactory = _ => 0 };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Config, Data, Output, Set, Resume, Threads })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The options as given; <see cref="TrainingJobOptions.Data"/> is still the --data argument (see <see cref="CorpusArgument"/>).</summary>
    public TrainingJobOptions Read(ParseResult result) => new()
    {
        ConfigPath = result.GetValue(Config),
        Overrides = result.GetValue(Set) ?? [],
        Data = result.GetValue(Data)!,
        // A resumed run goes on writing where it was, unless told otherwise.
        OutputDirectory = result.GetValue(Output) ?? result.GetValue(Resume) ?? "out",
        ResumeDirectory = result.GetValue(Resume),
        Threads = result.GetValue(Threads),
    };
}

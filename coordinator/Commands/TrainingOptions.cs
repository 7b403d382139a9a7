using System.CommandLine;
using Distributed.Coordinator.Data;
using Distributed.Models.Checkpoints;
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

    public Option<string?> Resume { get; } = new("--resume")
    {
        Description = $"Continue the run saved in this folder from its last checkpoint; '{Auto}': the one in --out if there is one, else start afresh (for a restarted coordinator).",
    };

    /// <summary>--resume auto: resume from --out when it holds a checkpoint, else start the run (a folder named auto: --resume ./auto).</summary>
    public const string Auto = "auto";

    public Option<int> Threads { get; } = new("--threads") { Description = "ONNX Runtime threads (0: every core); for train --workers N, each worker's (0: the cores shared among them).", DefaultValueFactory = _ => 0 };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Config, Data, Output, Set, Resume, Threads })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>
    /// The options as given, --resume auto decided (and said, through <paramref name="log"/>); <see cref="TrainingJobOptions.Data"/>
    /// is still the --data argument (see <see cref="CorpusArgument"/>).
    /// </summary>
    public TrainingJobOptions Read(ParseResult result, Action<string> log)
    {
        var resume = result.GetValue(Resume);
        var options = new TrainingJobOptions
        {
            ConfigPath = result.GetValue(Config),
            Overrides = result.GetValue(Set) ?? [],
            Data = result.GetValue(Data)!,
            // A resumed run goes on writing where it was, unless told otherwise.
            OutputDirectory = result.GetValue(Output) ?? (resume == Auto ? null : resume) ?? "out",
            ResumeDirectory = resume,
            Threads = result.GetValue(Threads),
        };
        return resume == Auto ? ResumeAuto(options, log) : options;
    }

    /// <summary>
    /// The checkpoint in --out if there is one (with its own config: --config is for a fresh start, so a restarted
    /// coordinator runs with the arguments it started with), else a fresh run. The files of a save that never
    /// finished are refused rather than trained over.
    /// </summary>
    private static TrainingJobOptions ResumeAuto(TrainingJobOptions options, Action<string> log)
    {
        var folder = options.OutputDirectory;
        switch (CheckpointStore.Presence(folder))
        {
            case CheckpointPresence.Finished:
                log($"--resume auto: resuming from the checkpoint in {folder}" + (options.ConfigPath is null ? "." : $" with its own config (--config {options.ConfigPath} is for a fresh start)."));
                return options with { ResumeDirectory = folder, ConfigPath = null };
            case CheckpointPresence.Unfinished:
                throw new CheckpointException($"--resume auto: {folder} holds a checkpoint whose save never finished (no {CheckpointStore.ManifestFile}), " +
                                              "so there is nothing valid to resume from; move it away to start afresh, or pass another --out.");
            default:
                log($"--resume auto: no checkpoint in {folder}; starting the run afresh.");
                return options with { ResumeDirectory = null };
        }
    }
}

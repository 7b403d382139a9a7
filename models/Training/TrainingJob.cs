using System.Text.Json;
using Distributed.Models.Checkpoints;
using Distributed.Models.Config;
using Distributed.Models.Data;
using Distributed.Models.Gpt;
using Distributed.Models.Tokenizers;
using Google.Protobuf;

namespace Distributed.Models.Training;

/// <summary>What `train` was asked to do.</summary>
public sealed record TrainingJobOptions
{
    public string? ConfigPath { get; init; }

    /// <summary>--set key=value overrides, applied after the config file (or the resumed checkpoint's config).</summary>
    public IReadOnlyList<string> Overrides { get; init; } = [];

    /// <summary>The UTF-8 text file to train on (as given on the command line, where it may name a shipped corpus instead).</summary>
    public required string Data { get; init; }

    public required string OutputDirectory { get; init; }

    /// <summary>A run directory to continue from its last checkpoint.</summary>
    public string? ResumeDirectory { get; init; }

    /// <summary>ONNX Runtime intra-op threads; 0: every core.</summary>
    public int Threads { get; init; }
}

/// <summary>
/// One single-process training run from the command line's point of view: config, data, tokenizer,
/// trainer, and the files a run leaves in its output folder (checkpoint, model.onnx, metrics.jsonl,
/// summary.json).
/// </summary>
public static class TrainingJob
{
    public const string OnnxFile = "model.onnx";
    public const string SummaryFile = "summary.json";

    /// <summary>Prepares the run (config, data, tokenizer) and trains it in this process.</summary>
    public static RunSummary Run(TrainingJobOptions options, ITrainingObserver observer, Action<string> log, CancellationToken cancel = default)
        => Run(Prepare(options, log), options, observer, cancel);

    /// <summary>Trains a prepared run in this process until its last step or until <paramref name="cancel"/> fires, and writes summary.json.</summary>
    public static RunSummary Run(PreparedRun run, TrainingJobOptions options, ITrainingObserver observer, CancellationToken cancel = default)
    {
        using var trainer = new Trainer(run.Config, run.Sampler, options.Threads);
        if (run.Checkpoint is not null)
        {
            trainer.Restore(RunCheckpoint.Restore(trainer.Replica, run.Checkpoint));
        }
        var recorder = new RecordingObserver(observer, options.OutputDirectory);
        var summary = trainer.Run(recorder, () => SaveCheckpoint(options.OutputDirectory, ReplicaSnapshot.Of(trainer.Replica), trainer.State, run.Tokenizer), cancel);
        WriteSummary(options.OutputDirectory, summary);
        return summary;
    }

    public static void WriteSummary(string directory, RunSummary summary)
        => AtomicFile.Write(Path.Combine(directory, SummaryFile),
            s => JsonSerializer.Serialize(s, summary, new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>
    /// A run before any data is read: its config (for a fresh run, vocab_size still to come from the
    /// tokenizer) and, when resuming, the checkpoint's tokenizer and contents. Made first, so every config
    /// error shows before the data is loaded and tokenized.
    /// </summary>
    public sealed record ResolvedRun(GptConfig Config, (ITokenizer Tokenizer, CheckpointContents Contents)? Checkpoint);

    /// <summary>What a run starts from: its config, tokenizer, data and (when resuming) checkpoint.</summary>
    public sealed record PreparedRun(GptConfig Config, ITokenizer Tokenizer, EpochSampler Sampler, CheckpointContents? Checkpoint);

    /// <summary>The config (from --config and --set, or from the checkpoint of --resume), validated; reads no data.</summary>
    public static ResolvedRun Resolve(TrainingJobOptions options)
    {
        if (options.ResumeDirectory is null)
        {
            return new ResolvedRun(ConfigLoader.Load(options.ConfigPath, options.Overrides), null);
        }
        if (options.ConfigPath is not null)
        {
            throw new ConfigException("--resume continues with the checkpoint's own config; drop --config (use --set to change e.g. max_steps).");
        }
        CheckpointStore.Recover(options.ResumeDirectory);   // the run's owner finishes a save a kill interrupted
        var (saved, tokenizer, contents) = RunCheckpoint.Load(options.ResumeDirectory);
        var config = ConfigLoader.Load(saved, null, options.Overrides);
        if (ChangesModel(saved, config))
        {
            var culprits = options.Overrides.Where(o => ChangesModel(saved, ConfigLoader.Load(saved, null, [o])));
            throw new ConfigException($"--set {string.Join(" --set ", culprits)} would change the model or its tokenizer, which a resumed run keeps; " +
                                      "drop it, or start a new run instead.");
        }
        return new ResolvedRun(config, (tokenizer, contents));
    }

    private static bool ChangesModel(GptConfig saved, GptConfig config)
        => DataParallel.ModelFingerprint.Of(config) != DataParallel.ModelFingerprint.Of(saved) || config.Tokenizer != saved.Tokenizer;

    /// <summary>Resolves the config, then reads the data, builds or reloads the tokenizer and creates the output folder.</summary>
    public static PreparedRun Prepare(TrainingJobOptions options, Action<string> log) => Prepare(options, Resolve(options), log);

    /// <summary>Reads the data, builds or reloads the tokenizer and creates the output folder (only once all of that worked).</summary>
    public static PreparedRun Prepare(TrainingJobOptions options, ResolvedRun resolved, Action<string> log)
        => Prepare(options, resolved, TextCorpus.Read(options.Data), log);

    /// <summary>As above, with the text already read (e.g. a corpus shipped inside the program).</summary>
    public static PreparedRun Prepare(TrainingJobOptions options, ResolvedRun resolved, string text, Action<string> log)
    {
        var (config, tokenizer) = resolved.Checkpoint is { Tokenizer: var saved } ? (resolved.Config, saved) : ResolveTokenizer(resolved.Config, text);
        log($"Tokenizer: {tokenizer.Kind}, vocab_size {tokenizer.VocabSize}; {ParameterCount.Of(config).Total:N0} parameters.");
        var sampler = EpochSampler.Of(text, tokenizer, config);
        log($"{sampler.WindowsPerEpoch:N0} training windows ({sampler.StepsPerEpoch(config.BatchSize):N0} steps per epoch), " +
            $"{sampler.ValidationWindows:N0} validation windows.");
        Directory.CreateDirectory(options.OutputDirectory);
        if (resolved.Checkpoint is { Contents: var contents })
        {
            log($"Resuming from {options.ResumeDirectory}.");
            MetricsLog.DropAfter(options.OutputDirectory, TrainingState.FromJson(contents.StateJson).Step);
        }
        return new PreparedRun(config, tokenizer, sampler, resolved.Checkpoint?.Contents);
    }

    /// <summary>
    /// The checkpoint, with the standalone inference model.onnx among its verified files. The model is
    /// serialized straight into its file, its weights read in place from the snapshot: no copy of them
    /// (340 MB at GPT-2 small) is ever held in memory.
    /// </summary>
    public static void SaveCheckpoint(string directory, ReplicaSnapshot replica, TrainingState state, ITokenizer tokenizer)
        => RunCheckpoint.Save(directory, replica, state, tokenizer,
            new Dictionary<string, Action<Stream>> { [OnnxFile] = s => GptGraphs.InferenceModel(replica.Config, replica.Parameters).WriteTo(s) });

    /// <summary>Trains the config's tokenizer on the text and sets vocab_size to what it yields.</summary>
    public static (GptConfig Config, ITokenizer Tokenizer) ResolveTokenizer(GptConfig config, string text)
    {
        var tokenizer = TokenizerFactory.Create(config.Tokenizer, text, config.VocabSize);
        var resolved = config with { VocabSize = tokenizer.VocabSize };
        ConfigValidator.Validate(resolved);
        return (resolved, tokenizer);
    }

    /// <summary>A fresh run of <paramref name="config"/> on <paramref name="text"/>: tokenizer, data windows, output folder.</summary>
    public static PreparedRun PrepareFresh(GptConfig config, string text, string outputDirectory)
    {
        var (resolved, tokenizer) = ResolveTokenizer(config, text);
        Directory.CreateDirectory(outputDirectory);
        return new PreparedRun(resolved, tokenizer,
            EpochSampler.Of(text, tokenizer, resolved), Checkpoint: null);
    }

    /// <summary>Writes each evaluation to metrics.jsonl before passing it on.</summary>
    private sealed class RecordingObserver(ITrainingObserver inner, string directory) : ITrainingObserver
    {
        public void OnStep(StepReport report) => inner.OnStep(report);

        public void OnEvaluation(EvaluationReport report)
        {
            MetricsLog.Append(directory, report);
            inner.OnEvaluation(report);
        }
    }
}

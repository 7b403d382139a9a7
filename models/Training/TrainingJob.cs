using System.Text.Json;
using Distributed.Models.Checkpoints;
using Distributed.Models.Config;
using Distributed.Models.Data;
using Distributed.Models.Gpt;
using Distributed.Models.Tokenizers;

namespace Distributed.Models.Training;

/// <summary>What `train` was asked to do.</summary>
public sealed record TrainingJobOptions
{
    public string? ConfigPath { get; init; }

    /// <summary>--set key=value overrides, applied after the config file (or the resumed checkpoint's config).</summary>
    public IReadOnlyList<string> Overrides { get; init; } = [];

    /// <summary>The UTF-8 text file to train on.</summary>
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

    public static RunSummary Run(TrainingJobOptions options, ITrainingObserver observer, Action<string> log, CancellationToken cancel = default)
    {
        var run = Prepare(options, log);
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

    /// <summary>What a run starts from: its config, tokenizer, data and (when resuming) checkpoint.</summary>
    public sealed record PreparedRun(GptConfig Config, ITokenizer Tokenizer, EpochSampler Sampler, CheckpointContents? Checkpoint);

    /// <summary>Reads the data, builds or reloads the tokenizer, resolves the config and creates the output folder.</summary>
    public static PreparedRun Prepare(TrainingJobOptions options, Action<string> log)
    {
        var text = TextCorpus.Read(options.Data);
        var (config, tokenizer, checkpoint) = Prepare(options, text);
        log($"Tokenizer: {tokenizer.Kind}, vocab_size {tokenizer.VocabSize}; {ParameterCount.Of(config).Total:N0} parameters.");
        var sampler = EpochSampler.Of(text, tokenizer, config);
        log($"{sampler.WindowsPerEpoch:N0} training windows ({sampler.StepsPerEpoch(config.BatchSize):N0} steps per epoch), " +
            $"{sampler.ValidationWindows:N0} validation windows.");
        if (checkpoint is not null)
        {
            log($"Resuming from {options.ResumeDirectory}.");
        }
        Directory.CreateDirectory(options.OutputDirectory);
        return new PreparedRun(config, tokenizer, sampler, checkpoint);
    }

    /// <summary>The checkpoint, with the standalone inference model.onnx among its verified files.</summary>
    public static void SaveCheckpoint(string directory, ReplicaSnapshot replica, TrainingState state, ITokenizer tokenizer)
        => RunCheckpoint.Save(directory, replica, state, tokenizer,
            new Dictionary<string, byte[]> { [OnnxFile] = GptGraphs.Inference(replica.Config, replica.Parameters) });

    private static (GptConfig Config, ITokenizer Tokenizer, CheckpointContents? Checkpoint) Prepare(TrainingJobOptions options, string text)
    {
        if (options.ResumeDirectory is null)
        {
            var (resolved, trained) = ResolveTokenizer(ConfigLoader.Load(options.ConfigPath, options.Overrides), text);
            return (resolved, trained, null);
        }
        if (options.ConfigPath is not null)
        {
            throw new ConfigException("--resume continues with the checkpoint's own config; drop --config (use --set to change e.g. max_steps).");
        }
        var (saved, tokenizer, contents) = RunCheckpoint.Load(options.ResumeDirectory);
        var config = ConfigLoader.Load(saved, null, options.Overrides);
        if (DataParallel.ModelFingerprint.Of(config) != DataParallel.ModelFingerprint.Of(saved) || config.Tokenizer != saved.Tokenizer)
        {
            throw new ConfigException("--set cannot change the model (its shape or architecture) or the tokenizer when resuming; start a new run instead.");
        }
        return (config, tokenizer, contents);
    }

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

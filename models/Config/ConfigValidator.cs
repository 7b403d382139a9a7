using Distributed.Models.Tokenizers;
using static System.FormattableString;

namespace Distributed.Models.Config;

/// <summary>Range checks on every field, so a bad value fails at startup rather than mid-run.</summary>
public static class ConfigValidator
{
    public const int MaxLayers = 256;
    public const int MaxSequenceLength = 65536;
    public const int MaxVocabSize = 1_000_000;
    public const double MaxLearningRate = 10;

    /// <summary>Byte-level BPE starts from the 256 byte tokens, so it needs at least one merge on top.</summary>
    public const int MinBpeVocabSize = BpeTokenizer.ByteTokenCount + 1;

    public static readonly IReadOnlyList<string> Tokenizers = [CharTokenizer.KindName, BpeTokenizer.KindName];

    /// <exception cref="ConfigException">Listing every problem found, each with field, value and allowed range.</exception>
    public static void Validate(GptConfig config)
    {
        var problems = Problems(config);
        if (problems.Count > 0)
        {
            throw new ConfigException(problems);
        }
    }

    /// <summary>Every problem with <paramref name="config"/>; empty when it is valid.</summary>
    public static IReadOnlyList<string> Problems(GptConfig c)
    {
        var problems = new List<string>();
        void Check(bool ok, FormattableString problem)
        {
            if (!ok)
            {
                problems.Add(Invariant(problem));
            }
        }

        Check(c.NumLayers is >= 1 and <= MaxLayers, $"num_layers {c.NumLayers} is out of range: must be 1..{MaxLayers}");
        Check(c.NumHeads >= 1, $"num_heads {c.NumHeads} must be at least 1");
        Check(c.EmbeddingSize >= 1, $"embedding_size {c.EmbeddingSize} must be at least 1");
        if (c.NumHeads >= 1 && c.EmbeddingSize >= 1 && c.EmbeddingSize % c.NumHeads != 0)
        {
            problems.Add(NotDivisible("embedding_size", c.EmbeddingSize, "num_heads", c.NumHeads, NearestMultiples(c.EmbeddingSize, c.NumHeads)));
        }
        Check(c.MaxSequenceLength is >= 1 and <= MaxSequenceLength,
            $"max_sequence_length {c.MaxSequenceLength} is out of range: must be 1..{MaxSequenceLength}");
        CheckVocabulary(c, problems);
        CheckArchitecture(c, problems);
        Check(c.Dropout is >= 0 and < 1, $"dropout {c.Dropout} is out of range: must be in [0, 1), e.g. 0.1");
        Check(c.LearningRate is > 0 and <= MaxLearningRate,
            $"learning_rate {c.LearningRate} is out of range: must be > 0 and <= {MaxLearningRate}, e.g. 3e-4");
        Check(c.MinLearningRate >= 0 && c.MinLearningRate <= c.LearningRate,
            $"min_learning_rate {c.MinLearningRate} is out of range: must be in [0, learning_rate = {c.LearningRate}]");
        Check(c.WarmupSteps >= 0, $"warmup_steps {c.WarmupSteps} must be >= 0");
        Check(IsFiniteAtLeastZero(c.WeightDecay), $"weight_decay {c.WeightDecay} must be a finite number >= 0, e.g. 0.1");
        Check(c.Beta1 is >= 0 and < 1, $"beta1 {c.Beta1} is out of range: must be in [0, 1), e.g. 0.9");
        Check(c.Beta2 is >= 0 and < 1, $"beta2 {c.Beta2} is out of range: must be in [0, 1), e.g. 0.99");
        Check(IsFiniteAtLeastZero(c.GradClip), $"grad_clip {c.GradClip} must be a finite number >= 0 (0 turns clipping off)");
        Check(c.BatchSize >= 1, $"batch_size {c.BatchSize} must be at least 1");
        CheckAccumulation(c, problems);
        Check(c.NumEpochs >= 1, $"num_epochs {c.NumEpochs} must be at least 1");
        Check(c.MaxSteps >= 0, $"max_steps {c.MaxSteps} must be >= 0 (0 means run num_epochs)");
        Check(IsFiniteAtLeastZero(c.MaxSeconds), $"max_seconds {c.MaxSeconds} must be a finite number >= 0 (0 means no time limit), e.g. 120");
        Check(c.EvalInterval >= 1, $"eval_interval {c.EvalInterval} must be at least 1");
        Check(c.EvalBatches >= 0,
            $"eval_batches {c.EvalBatches} must be >= 0 (0 scores every validation window; N > 0 averages N random batches, as nanoGPT's eval_iters)");
        return problems;
    }

    private static void CheckAccumulation(GptConfig c, List<string> problems)
    {
        if (c.GradAccumSteps < 1)
        {
            problems.Add(Invariant($"grad_accum_steps {c.GradAccumSteps} must be at least 1 (1: the whole batch at once)"));
        }
        else if (c.BatchSize >= 1 && c.BatchSize % c.GradAccumSteps != 0)
        {
            problems.Add(NotDivisible("batch_size", c.BatchSize, "grad_accum_steps", c.GradAccumSteps,
                $"try grad_accum_steps {NearestDivisors(c.BatchSize, c.GradAccumSteps)}, or a batch_size that is a multiple of {c.GradAccumSteps}"));
        }
    }

    /// <summary>The divisors of <paramref name="value"/> just below and above <paramref name="near"/> ("4 or 6").</summary>
    private static string NearestDivisors(int value, int near)
    {
        var below = Enumerable.Range(1, Math.Min(near, value)).Last(d => value % d == 0);
        var above = Enumerable.Range(near, Math.Max(0, value - near + 1)).FirstOrDefault(d => value % d == 0);
        return above > 0 ? Invariant($"{below} or {above}") : Invariant($"{below}");
    }

    private static void CheckArchitecture(GptConfig c, List<string> problems)
    {
        if (c.FeedForwardSize < 0)
        {
            problems.Add(Invariant(
                $"feed_forward_size {c.FeedForwardSize} must be >= 0 (0: 4 x embedding_size for mlp gpt2, LLaMA's rule for mlp swiglu)"));
        }
        if (c.Mlp == MlpKind.SwiGlu && c.Activation != Activation.Gelu)
        {
            problems.Add($"activation {LowercaseEnumNames.Of(c.Activation)} does not apply to mlp swiglu, whose gate is SiLU: "
                + "remove activation, or use mlp gpt2 with it");
        }
        if (!(double.IsFinite(c.RopeTheta) && c.RopeTheta > 1))
        {
            problems.Add(Invariant($"rope_theta {c.RopeTheta} must be a finite number > 1, e.g. 10000 (LLaMA)"));
        }
        if (c.Position == PositionKind.Rope && c.NumHeads >= 1 && c.EmbeddingSize % c.NumHeads == 0 && c.HeadSize % 2 != 0)
        {
            problems.Add(Invariant(
                $"position rope turns pairs of head dimensions, so it needs an even head size, not embedding_size {c.EmbeddingSize} / num_heads {c.NumHeads} = {c.HeadSize}"));
        }
    }

    private static void CheckVocabulary(GptConfig c, List<string> problems)
    {
        if (!Tokenizers.Contains(c.Tokenizer))
        {
            problems.Add($"tokenizer '{c.Tokenizer}' is not supported: must be one of {string.Join(", ", Tokenizers)}");
        }
        if (c.VocabSize is not (0 or >= 2 and <= MaxVocabSize))
        {
            problems.Add(Invariant(
                $"vocab_size {c.VocabSize} is out of range: must be 0 (auto, char tokenizer only) or 2..{MaxVocabSize}"));
        }
        else if (c.Tokenizer == BpeTokenizer.KindName && c.VocabSize is < MinBpeVocabSize or > BpeTokenizer.MaxVocabSize)
        {
            problems.Add(Invariant(
                $"vocab_size {c.VocabSize} is out of range for tokenizer bpe: must be {MinBpeVocabSize}..{BpeTokenizer.MaxVocabSize} (256 byte tokens plus merges), e.g. 50257"));
        }
    }

    private static string NotDivisible(string field, int value, string divisorField, int divisor, string fix)
        => Invariant($"{field} {value} must be divisible by {divisorField} {divisor} ({fix})");

    /// <summary>Names the nearest valid embedding sizes, since that is usually the value to change.</summary>
    private static string NearestMultiples(int embeddingSize, int numHeads)
    {
        var below = embeddingSize - embeddingSize % numHeads;
        var above = below + numHeads;
        return below > 0 ? Invariant($"try {below} or {above}") : Invariant($"try {above}");
    }

    // NaN fails every comparison, so each range check above is written to be false for NaN;
    // infinity needs this explicit test where there is no upper bound.
    private static bool IsFiniteAtLeastZero(double value) => double.IsFinite(value) && value >= 0;
}

using Distributed.Models.Config;
using Distributed.Models;

namespace Distributed.Tests.Config;

public sealed class ConfigValidatorTests
{
    private static readonly GptConfig Valid = new();

    public static TheoryData<GptConfig, string> Invalid => new()
    {
        { Valid with { NumLayers = 0 }, "num_layers 0 is out of range: must be 1..256" },
        { Valid with { NumLayers = 257 }, "num_layers 257 is out of range: must be 1..256" },
        { Valid with { NumHeads = 0 }, "num_heads 0 must be at least 1" },
        { Valid with { EmbeddingSize = 0 }, "embedding_size 0 must be at least 1" },
        { Valid with { EmbeddingSize = 130 }, "embedding_size 130 must be divisible by num_heads 4 (try 128 or 132)" },
        { Valid with { EmbeddingSize = 3 }, "embedding_size 3 must be divisible by num_heads 4 (try 4)" },
        { Valid with { MaxSequenceLength = 0 }, "max_sequence_length 0 is out of range: must be 1..65536" },
        { Valid with { MaxSequenceLength = 65537 }, "max_sequence_length 65537 is out of range: must be 1..65536" },
        { Valid with { VocabSize = 1 }, "vocab_size 1 is out of range: must be 0 (auto, char tokenizer only) or 2..1000000" },
        { Valid with { VocabSize = -5 }, "vocab_size -5 is out of range: must be 0 (auto, char tokenizer only) or 2..1000000" },
        { Valid with { VocabSize = 1_000_001 }, "vocab_size 1000001 is out of range: must be 0 (auto, char tokenizer only) or 2..1000000" },
        { Valid with { Tokenizer = "bpe", VocabSize = 256 },
            "vocab_size 256 is out of range for tokenizer bpe: must be 257..65536 (256 byte tokens plus merges), e.g. 50257" },
        { Valid with { Tokenizer = "bpe", VocabSize = 0 },
            "vocab_size 0 is out of range for tokenizer bpe: must be 257..65536 (256 byte tokens plus merges), e.g. 50257" },
        { Valid with { Tokenizer = "bpe", VocabSize = 65_537 },
            "vocab_size 65537 is out of range for tokenizer bpe: must be 257..65536 (256 byte tokens plus merges), e.g. 50257" },
        { Valid with { Dropout = 1 }, "dropout 1 is out of range: must be in [0, 1), e.g. 0.1" },
        { Valid with { Dropout = -0.1 }, "dropout -0.1 is out of range: must be in [0, 1), e.g. 0.1" },
        { Valid with { Dropout = double.NaN }, "dropout NaN is out of range: must be in [0, 1), e.g. 0.1" },
        { Valid with { LearningRate = 0, MinLearningRate = 0 }, "learning_rate 0 is out of range: must be > 0 and <= 10, e.g. 3e-4" },
        { Valid with { LearningRate = 11 }, "learning_rate 11 is out of range: must be > 0 and <= 10, e.g. 3e-4" },
        { Valid with { MinLearningRate = -1e-5 }, "min_learning_rate -1E-05 is out of range: must be in [0, learning_rate = 0.001]" },
        { Valid with { MinLearningRate = 0.01 }, "min_learning_rate 0.01 is out of range: must be in [0, learning_rate = 0.001]" },
        { Valid with { WarmupSteps = -1 }, "warmup_steps -1 must be >= 0" },
        { Valid with { WeightDecay = -0.1 }, "weight_decay -0.1 must be a finite number >= 0, e.g. 0.1" },
        { Valid with { WeightDecay = double.PositiveInfinity }, "weight_decay Infinity must be a finite number >= 0, e.g. 0.1" },
        { Valid with { Beta1 = 1 }, "beta1 1 is out of range: must be in [0, 1), e.g. 0.9" },
        { Valid with { Beta2 = -0.5 }, "beta2 -0.5 is out of range: must be in [0, 1), e.g. 0.99" },
        { Valid with { GradClip = -1 }, "grad_clip -1 must be a finite number >= 0 (0 turns clipping off)" },
        { Valid with { BatchSize = 0 }, "batch_size 0 must be at least 1" },
        { Valid with { GradAccumSteps = 0 }, "grad_accum_steps 0 must be at least 1 (1: the whole batch at once)" },
        { Valid with { GradAccumSteps = 5 },
            "batch_size 12 must be divisible by grad_accum_steps 5 (try grad_accum_steps 4 or 6, or a batch_size that is a multiple of 5)" },
        { Valid with { GradAccumSteps = 20 },
            "batch_size 12 must be divisible by grad_accum_steps 20 (try grad_accum_steps 12, or a batch_size that is a multiple of 20)" },
        { Valid with { EvalBatches = -1 },
            "eval_batches -1 must be >= 0 (0 scores every validation window; N > 0 averages N random batches, as nanoGPT's eval_iters)" },
        { Valid with { NumEpochs = 0 }, "num_epochs 0 must be at least 1" },
        { Valid with { MaxSteps = -1 }, "max_steps -1 must be >= 0 (0 means run num_epochs)" },
        { Valid with { EvalInterval = 0 }, "eval_interval 0 must be at least 1" },
        { Valid with { Tokenizer = "word" }, "tokenizer 'word' is not supported: must be one of char, bpe" },
        { Valid with { FeedForwardSize = -1 },
            "feed_forward_size -1 must be >= 0 (0: 4 x embedding_size for mlp gpt2, LLaMA's rule for mlp swiglu)" },
        { Valid with { Mlp = MlpKind.SwiGlu, Activation = Activation.Relu2 },
            "activation relu2 does not apply to mlp swiglu, whose gate is SiLU: remove activation, or use mlp gpt2 with it" },
        { Valid with { RopeTheta = 1 }, "rope_theta 1 must be a finite number > 1, e.g. 10000 (LLaMA)" },
        { Valid with { RopeTheta = double.NaN }, "rope_theta NaN must be a finite number > 1, e.g. 10000 (LLaMA)" },
        { Valid with { Position = PositionKind.Rope, EmbeddingSize = 12 },
            "position rope turns pairs of head dimensions, so it needs an even head size, not embedding_size 12 / num_heads 4 = 3" },
        { Valid with { MaxSeconds = -1 }, "max_seconds -1 must be a finite number >= 0 (0 means no time limit), e.g. 120" },
        { Valid with { MaxSeconds = double.PositiveInfinity },
            "max_seconds Infinity must be a finite number >= 0 (0 means no time limit), e.g. 120" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void EachRuleNamesTheFieldValueAndRange(GptConfig config, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigValidator.Validate(config));

        Assert.Equal(expected, Assert.Single(error.Problems));
        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public void DefaultsAndEdgesOfEachRangeAreValid()
    {
        ConfigValidator.Validate(Valid);
        ConfigValidator.Validate(Valid with
        {
            NumLayers = 256, NumHeads = 1, EmbeddingSize = 1, MaxSequenceLength = 65536, VocabSize = 2,
            Dropout = 0, LearningRate = 10, MinLearningRate = 10, WarmupSteps = 0, WeightDecay = 0,
            Beta1 = 0, Beta2 = 0, GradClip = 0, BatchSize = 1, NumEpochs = 1, MaxSteps = 0, EvalInterval = 1,
        });
        ConfigValidator.Validate(Valid with { Tokenizer = "bpe", VocabSize = 257 });
        ConfigValidator.Validate(Valid with { VocabSize = 1_000_000 });
        ConfigValidator.Validate(Valid with
        {
            Norm = NormKind.RmsNorm, Mlp = MlpKind.SwiGlu, Position = PositionKind.Rope, Bias = false, TieEmbeddings = false,
            QkNorm = true, FeedForwardSize = 1, RopeTheta = 1.0001, MaxSeconds = 0.5,
        });
        // Odd head sizes are fine with learned positions; RoPE only needs them even.
        ConfigValidator.Validate(Valid with { EmbeddingSize = 12 });
    }

    [Fact]
    public void EveryProblemIsListed()
    {
        var error = Assert.Throws<ConfigException>(() =>
            ConfigValidator.Validate(Valid with { NumLayers = 0, Dropout = 2, BatchSize = 0 }));

        Assert.Equal(3, error.Problems.Count);
        Assert.StartsWith("The configuration has 3 problems:", error.Message);
        Assert.Contains("  - dropout 2 is out of range", error.Message);
    }
}

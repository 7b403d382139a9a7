using System.Text.Json.Serialization;

namespace Distributed.Models;

/// <summary>Activation of the feed-forward layer; relu2 is ReLU squared (modded-nanogpt).</summary>
public enum Activation { Gelu, Relu, Tanh, Relu2 }

/// <summary>Which update rule the optimizer applies.</summary>
public enum OptimizerKind { AdamW, Sgd }

/// <summary>
/// Every hyperparameter of a run, by the names users tune (snake_case in JSON and in --set).
/// Defaults are nanoGPT's small character-level settings; ConfigValidator checks ranges.
/// </summary>
public sealed record GptConfig
{
    // --- model shape ---
    [JsonPropertyName("num_layers")] public int NumLayers { get; init; } = 4;
    [JsonPropertyName("num_heads")] public int NumHeads { get; init; } = 4;
    [JsonPropertyName("embedding_size")] public int EmbeddingSize { get; init; } = 128;   // C; must divide by num_heads
    [JsonPropertyName("max_sequence_length")] public int MaxSequenceLength { get; init; } = 64; // T, the context
    /// <summary>0 means "whatever the tokenizer yields" (character level); BPE trains to this size.</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    [JsonPropertyName("dropout")] public double Dropout { get; init; }
    [JsonPropertyName("activation")] public Activation Activation { get; init; } = Activation.Gelu;

    // --- tokenizer ---
    /// <summary>"char" (one token per character) or "bpe" (byte-level BPE trained to vocab_size).</summary>
    [JsonPropertyName("tokenizer")] public string Tokenizer { get; init; } = "char";

    // --- optimisation ---
    [JsonPropertyName("optimizer")] public OptimizerKind Optimizer { get; init; } = OptimizerKind.AdamW;
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; } = 1e-3;
    [JsonPropertyName("min_learning_rate")] public double MinLearningRate { get; init; } = 1e-4;
    [JsonPropertyName("warmup_steps")] public int WarmupSteps { get; init; } = 100;
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; } = 0.1;
    [JsonPropertyName("beta1")] public double Beta1 { get; init; } = 0.9;
    [JsonPropertyName("beta2")] public double Beta2 { get; init; } = 0.99;
    /// <summary>Global gradient-norm clip; 0 turns clipping off.</summary>
    [JsonPropertyName("grad_clip")] public double GradClip { get; init; } = 1.0;
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 12;
    [JsonPropertyName("num_epochs")] public int NumEpochs { get; init; } = 1;
    /// <summary>Stop after this many optimizer steps even mid-epoch; 0 means "run num_epochs".</summary>
    [JsonPropertyName("max_steps")] public int MaxSteps { get; init; }
    /// <summary>Evaluate on the validation split every this many steps (and at the end).</summary>
    [JsonPropertyName("eval_interval")] public int EvalInterval { get; init; } = 250;
    [JsonPropertyName("seed")] public long Seed { get; init; } = 1337;

    /// <summary>Width of the feed-forward hidden layer, 4C as in GPT-2.</summary>
    [JsonIgnore] public int FeedForwardSize => 4 * EmbeddingSize;
    [JsonIgnore] public int HeadSize => EmbeddingSize / NumHeads;
}

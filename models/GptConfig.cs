using System.Text.Json.Serialization;

namespace Distributed.Models;

/// <summary>Activation of the GPT-2 feed-forward layer; relu2 is ReLU squared (modded-nanogpt).</summary>
public enum Activation { Gelu, Relu, Tanh, Relu2 }

/// <summary>The normalisation before each block and at the end: GPT-2's LayerNorm or LLaMA's RMSNorm.</summary>
public enum NormKind { LayerNorm, RmsNorm }

/// <summary>The feed-forward layer: GPT-2's act(x W_fc) W_proj or LLaMA's (silu(x W_gate) * x W_up) W_down.</summary>
public enum MlpKind { Gpt2, SwiGlu }

/// <summary>How tokens know their position: GPT-2's learned table or LLaMA's rotary embedding of queries and keys.</summary>
public enum PositionKind { Learned, Rope }

/// <summary>The gradient values a distributed run sends over the network (summed in float32 either way; shared memory always carries float32).</summary>
public enum AllReduceDtype { Fp32, Bf16 }

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
    [JsonPropertyName("activation")] public Activation Activation { get; init; } = Activation.Gelu; // mlp gpt2 only

    // --- architecture: the defaults are GPT-2; LLaMA is rmsnorm, swiglu, rope, no biases, untied ---
    [JsonPropertyName("norm")] public NormKind Norm { get; init; } = NormKind.LayerNorm;
    [JsonPropertyName("mlp")] public MlpKind Mlp { get; init; } = MlpKind.Gpt2;
    /// <summary>Feed-forward hidden width; 0 means the family's rule (<see cref="FeedForwardWidth"/>).</summary>
    [JsonPropertyName("feed_forward_size")] public int FeedForwardSize { get; init; }
    [JsonPropertyName("position")] public PositionKind Position { get; init; } = PositionKind.Learned;
    /// <summary>RoPE's base: pair i of a head turns by position * theta^(-2i/head_size). LLaMA's 10000.</summary>
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000;
    /// <summary>Biases in every linear layer and LayerNorm (GPT-2); LLaMA has none.</summary>
    [JsonPropertyName("bias")] public bool Bias { get; init; } = true;
    /// <summary>The output head reuses the token embedding (GPT-2); false gives it its own lm_head (LLaMA).</summary>
    [JsonPropertyName("tie_embeddings")] public bool TieEmbeddings { get; init; } = true;
    /// <summary>RMSNorm each head's queries and keys before the scores (as Qwen3, OLMo 2, modded-nanogpt).</summary>
    [JsonPropertyName("qk_norm")] public bool QkNorm { get; init; }

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
    /// <summary>B: sequences per optimizer step, over all workers of a distributed run (the global batch).</summary>
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 12;
    /// <summary>
    /// k: each optimizer step runs its batch as k micro-batches of batch_size / k and averages their
    /// gradients, so activations need memory for B / k sequences; the step's result is the same.
    /// </summary>
    [JsonPropertyName("grad_accum_steps")] public int GradAccumSteps { get; init; } = 1;
    [JsonPropertyName("num_epochs")] public int NumEpochs { get; init; } = 1;
    /// <summary>Stop after this many optimizer steps even mid-epoch; 0 means "run num_epochs".</summary>
    [JsonPropertyName("max_steps")] public int MaxSteps { get; init; }
    /// <summary>Also stop at the first evaluation after this many training seconds; 0 means no time limit.</summary>
    [JsonPropertyName("max_seconds")] public double MaxSeconds { get; init; }
    /// <summary>Evaluate on the validation split every this many steps (and at the end).</summary>
    [JsonPropertyName("eval_interval")] public int EvalInterval { get; init; } = 250;
    /// <summary>
    /// 0: an evaluation scores every validation window. N > 0: nanoGPT's estimate_loss, the mean of N
    /// batches of batch_size windows at random offsets, drawn from (seed, the evaluation's step).
    /// </summary>
    [JsonPropertyName("eval_batches")] public int EvalBatches { get; init; }
    [JsonPropertyName("seed")] public long Seed { get; init; } = 1337;

    // --- distributed runs ---
    /// <summary>
    /// bf16 halves the gradient bytes on the network; the averaged gradient is rounded to bf16 once,
    /// on the coordinator, so every replica applies the same values (whatever transport it uses).
    /// </summary>
    [JsonPropertyName("allreduce_dtype")] public AllReduceDtype AllReduceDtype { get; init; } = AllReduceDtype.Fp32;

    /// <summary>
    /// Width F of the feed-forward hidden layer: feed_forward_size when set, else 4C for GPT-2 and
    /// LLaMA's rule for SwiGLU: two thirds of 4C (three matrices instead of two, the same parameters),
    /// rounded up to a multiple of 256 (C = 4096 gives 11008).
    /// </summary>
    [JsonIgnore] public int FeedForwardWidth => FeedForwardSize > 0 ? FeedForwardSize : Mlp switch
    {
        MlpKind.SwiGlu => LlamaMultipleOf * ((2 * 4 * EmbeddingSize / 3 + LlamaMultipleOf - 1) / LlamaMultipleOf),
        _ => 4 * EmbeddingSize,
    };

    private const int LlamaMultipleOf = 256;

    [JsonIgnore] public int HeadSize => EmbeddingSize / NumHeads;
}

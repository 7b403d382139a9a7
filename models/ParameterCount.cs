namespace Distributed.Models;

/// <summary>
/// How many trainable numbers a GPT-2-layout model has, by kind. The output projection shares the
/// token embedding (weight tying), so it adds nothing.
/// </summary>
public sealed record ParameterBreakdown(
    long TokenEmbedding,
    long PositionEmbedding,
    long AttentionWeights,
    long AttentionBiases,
    long FeedForwardWeights,
    long FeedForwardBiases,
    long LayerNorms)
{
    public long Total =>
        TokenEmbedding + PositionEmbedding + AttentionWeights + AttentionBiases
        + FeedForwardWeights + FeedForwardBiases + LayerNorms;
}

public static class ParameterCount
{
    /// <summary>Counts for <paramref name="config"/>, whose vocab_size must be set (not 0/auto).</summary>
    public static ParameterBreakdown Of(GptConfig config) =>
        config.VocabSize > 0
            ? Of(config, config.VocabSize)
            : throw new ArgumentException(
                "vocab_size is 0 (auto), so the embedding size is unknown until the tokenizer is built; "
                + "call ParameterCount.Of(config, tokenizerVocabSize) instead", nameof(config));

    /// <summary>Counts for <paramref name="config"/> with the tokenizer's actual vocabulary size.</summary>
    public static ParameterBreakdown Of(GptConfig config, int vocabSize)
    {
        long v = vocabSize, t = config.MaxSequenceLength, c = config.EmbeddingSize, l = config.NumLayers;
        long hidden = config.FeedForwardSize;
        return new ParameterBreakdown(
            TokenEmbedding: v * c,                            // wte [V,C], also the lm_head
            PositionEmbedding: t * c,                         // wpe [T,C]
            AttentionWeights: l * (c * 3 * c + c * c),        // c_attn [C,3C] + c_proj [C,C]
            AttentionBiases: l * (3 * c + c),
            FeedForwardWeights: l * (c * hidden + hidden * c), // c_fc [C,4C] + c_proj [4C,C]
            FeedForwardBiases: l * (hidden + c),
            LayerNorms: l * 2 * (c + c) + (c + c));           // ln_1, ln_2 per layer and ln_f: weight + bias each
    }
}

using Distributed.Models.Gpt;

namespace Distributed.Models;

/// <summary>
/// How many trainable numbers a GPT has, by part and kind: weights (matrices, embeddings and norm
/// gains) and biases (of linear layers and LayerNorms). A tied output head shares the token
/// embedding, so it adds nothing.
/// </summary>
public sealed record ParameterBreakdown(
    long TokenEmbedding,
    long PositionEmbedding,
    long AttentionWeights,
    long AttentionBiases,
    long FeedForwardWeights,
    long FeedForwardBiases,
    long NormWeights,
    long NormBiases,
    long OutputHead)
{
    public long Weights => TokenEmbedding + PositionEmbedding + AttentionWeights + FeedForwardWeights + NormWeights + OutputHead;

    public long Biases => AttentionBiases + FeedForwardBiases + NormBiases;

    public long Total => Weights + Biases;
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

    /// <summary>
    /// Counts for <paramref name="config"/> with the tokenizer's actual vocabulary size, summed over
    /// the parameter table the model trains (nothing is allocated, so a 175B model counts too).
    /// </summary>
    public static ParameterBreakdown Of(GptConfig config, int vocabSize)
    {
        var views = new ParameterLayout(config with { VocabSize = vocabSize }).Views;
        long Sum(ParameterPart part, bool biases) => views.Where(v => v.Part == part && v.IsBias == biases).Sum(v => v.Length);
        return new ParameterBreakdown(
            TokenEmbedding: Sum(ParameterPart.TokenEmbedding, biases: false),
            PositionEmbedding: Sum(ParameterPart.PositionEmbedding, biases: false),
            AttentionWeights: Sum(ParameterPart.Attention, biases: false),
            AttentionBiases: Sum(ParameterPart.Attention, biases: true),
            FeedForwardWeights: Sum(ParameterPart.FeedForward, biases: false),
            FeedForwardBiases: Sum(ParameterPart.FeedForward, biases: true),
            NormWeights: Sum(ParameterPart.Norm, biases: false),
            NormBiases: Sum(ParameterPart.Norm, biases: true),
            OutputHead: Sum(ParameterPart.OutputHead, biases: false));
    }
}

namespace Distributed.Models.Data;

/// <summary>A tokenized corpus split as nanoGPT does: the first 90% of tokens train, the last 10% validate.</summary>
public sealed class TokenDataset
{
    public TokenDataset(ReadOnlyMemory<int> tokens)
    {
        // long arithmetic: 9 * Length overflows int for corpora above ~238M tokens.
        var trainCount = (int)(tokens.Length * 9L / 10);
        TrainTokens = tokens[..trainCount];
        ValidationTokens = tokens[trainCount..];
    }

    public ReadOnlyMemory<int> TrainTokens { get; }

    public ReadOnlyMemory<int> ValidationTokens { get; }
}

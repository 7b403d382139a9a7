namespace Distributed.Models.DataParallel;

/// <summary>A set of token windows that can be scored: a split of a dataset, a random sample of one, or a worker's shard.</summary>
public interface IWindowSource
{
    int Count { get; }

    /// <summary>Writes inputs and next-token targets [windows.Length, T] for the given window indices.</summary>
    void Fill(ReadOnlySpan<int> windows, Span<long> inputs, Span<long> targets);

    /// <summary>The T + 1 tokens of window <paramref name="index"/> (0..Count-1), e.g. to send it in a shard.</summary>
    ReadOnlySpan<int> Window(int index);
}

using Distributed.Models.Data;

namespace Distributed.Models.DataParallel;

/// <summary>
/// A worker's data: whole windows of T + 1 tokens laid end to end, in the order it will use them,
/// as the coordinator sent them. Window i's inputs are its first T tokens, its targets the last T.
/// </summary>
public sealed class WindowShard : IWindowSource
{
    private readonly int[] _tokens;

    public WindowShard(int[] tokens, int sequenceLength)
    {
        if (tokens.Length % (sequenceLength + 1) != 0)
        {
            throw new ArgumentException($"A shard of {tokens.Length} tokens is not whole windows of {sequenceLength + 1} tokens.", nameof(tokens));
        }
        _tokens = tokens;
        SequenceLength = sequenceLength;
    }

    public int SequenceLength { get; }

    public int Count => _tokens.Length / (SequenceLength + 1);

    public ReadOnlySpan<int> Window(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        return _tokens.AsSpan(index * (SequenceLength + 1), SequenceLength + 1);
    }

    public void Fill(ReadOnlySpan<int> windows, Span<long> inputs, Span<long> targets)
    {
        for (var row = 0; row < windows.Length; row++)
        {
            TokenWindow.Copy(_tokens.AsSpan(windows[row] * (SequenceLength + 1), SequenceLength + 1),
                inputs.Slice(row * SequenceLength, SequenceLength), targets.Slice(row * SequenceLength, SequenceLength));
        }
    }
}

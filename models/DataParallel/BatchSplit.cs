namespace Distributed.Models.DataParallel;

/// <summary>
/// How one global batch of B windows is shared by W ranks, DistributedSampler-style: at step s of an
/// epoch the global batch is positions [s*B, (s+1)*B) of the epoch's shuffled order, and rank r takes
/// positions s*B + r + W*j. Ranks get B/W windows, the first B%W ranks one more; each rank's mean
/// gradient is weighted by its share so the average is exactly the global batch's mean gradient.
/// </summary>
public static class BatchSplit
{
    public static int BatchOf(int rank, int worldSize, int globalBatch)
    {
        Check(rank, worldSize, globalBatch);
        return globalBatch / worldSize + (rank < globalBatch % worldSize ? 1 : 0);
    }

    /// <summary>The weight of rank <paramref name="rank"/>'s mean gradient in the global mean.</summary>
    public static float WeightOf(int rank, int worldSize, int globalBatch)
        => (float)((double)BatchOf(rank, worldSize, globalBatch) / globalBatch);

    /// <summary>Writes into <paramref name="windows"/> the window indices rank <paramref name="rank"/> trains on at a step.</summary>
    public static void WindowsOf(ReadOnlySpan<int> epochOrder, int stepInEpoch, int rank, int worldSize, int globalBatch, Span<int> windows)
    {
        var count = BatchOf(rank, worldSize, globalBatch);
        if (windows.Length != count)
        {
            throw new ArgumentException($"Rank {rank} of {worldSize} trains on {count} windows per step, not {windows.Length}.", nameof(windows));
        }
        var start = stepInEpoch * globalBatch;
        for (var j = 0; j < count; j++)
        {
            windows[j] = epochOrder[start + rank + worldSize * j];
        }
    }

    private static void Check(int rank, int worldSize, int globalBatch)
    {
        if (worldSize < 1 || rank < 0 || rank >= worldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} must be in [0, {worldSize}).");
        }
        if (globalBatch < worldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(globalBatch),
                $"batch_size {globalBatch} is smaller than the {worldSize} workers; every worker needs at least one sequence per step.");
        }
    }
}

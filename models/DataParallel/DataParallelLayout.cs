using Distributed.Models.Data;

namespace Distributed.Models.DataParallel;

/// <summary>
/// The one home of the data-parallel layout: which training windows rank r of W trains on at each
/// step, how much its gradient weighs, and which validation windows it scores. The coordinator cuts
/// shards with it, workers index their shards with it, and protos/Grpc/distributed.proto describes
/// the same order.
///
/// Training (DistributedSampler-style): at step s of an epoch the global batch is positions
/// [s*B, (s+1)*B) of the epoch's shuffled window order, and rank r takes positions s*B + r + W*j,
/// j = 0..b_r-1, with b_r = B/W plus one for the first B%W ranks. A rank's mean gradient weighs
/// b_r/B, so the weighted sum is exactly the global batch's mean gradient.
///
/// Shards: an assignment of n steps from step s0 sends rank r its windows of steps s0..s0+n-1 in step
/// order, so step s0+i uses the shard's windows [i*b_r, (i+1)*b_r).
///
/// Validation: rank r of W scores the validation windows v with v % W == r.
/// </summary>
public readonly record struct DataParallelLayout
{
    public DataParallelLayout(int worldSize, int globalBatch)
    {
        if (worldSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, $"A run needs at least one worker, not {worldSize}.");
        }
        if (globalBatch < worldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(globalBatch), globalBatch,
                $"batch_size {globalBatch} is smaller than the {worldSize} workers: every worker needs at least one sequence per step; " +
                "raise batch_size or use fewer workers.");
        }
        (WorldSize, GlobalBatch) = (worldSize, globalBatch);
    }

    public int WorldSize { get; }

    /// <summary>B: sequences per optimizer step over all ranks (the config's batch_size).</summary>
    public int GlobalBatch { get; }

    /// <summary>b_r: the sequences rank <paramref name="rank"/> trains on per step.</summary>
    public int BatchOf(int rank)
    {
        CheckRank(rank);
        return GlobalBatch / WorldSize + (rank < GlobalBatch % WorldSize ? 1 : 0);
    }

    /// <summary>The weight of rank <paramref name="rank"/>'s mean gradient (and loss) in the global mean: b_r / B.</summary>
    public float WeightOf(int rank) => (float)((double)BatchOf(rank) / GlobalBatch);

    /// <summary>Writes into <paramref name="windows"/> the window indices rank <paramref name="rank"/> trains on at a step of an epoch.</summary>
    public void TrainWindows(ReadOnlySpan<int> epochOrder, int stepInEpoch, int rank, Span<int> windows)
    {
        var count = BatchOf(rank);
        if (windows.Length != count)
        {
            throw new ArgumentException($"Rank {rank} of {WorldSize} trains on {count} windows per step, not {windows.Length}.", nameof(windows));
        }
        var start = stepInEpoch * GlobalBatch;
        for (var j = 0; j < count; j++)
        {
            windows[j] = epochOrder[start + rank + WorldSize * j];
        }
    }

    /// <summary>Writes into <paramref name="windows"/> the positions in rank <paramref name="rank"/>'s shard of the assignment's step <paramref name="stepInAssignment"/>.</summary>
    public void ShardWindows(int stepInAssignment, int rank, Span<int> windows)
    {
        var count = BatchOf(rank);
        if (windows.Length != count)
        {
            throw new ArgumentException($"Rank {rank} of {WorldSize} trains on {count} windows per step, not {windows.Length}.", nameof(windows));
        }
        for (var j = 0; j < count; j++)
        {
            windows[j] = stepInAssignment * count + j;
        }
    }

    /// <summary>
    /// Rank <paramref name="rank"/>'s shard for <paramref name="steps"/> steps from <paramref name="stepInEpoch"/>
    /// of an epoch (<paramref name="epochOrder"/>, <paramref name="offset"/>): its training windows in step
    /// order and its validation windows, as tokens (whole windows of T + 1).
    /// </summary>
    public (int[] Train, int[] Validation) CutShard(EpochSampler sampler, ReadOnlySpan<int> epochOrder, int offset, int stepInEpoch, int steps, int rank)
    {
        var (batch, windowLength) = (BatchOf(rank), sampler.SequenceLength + 1);
        var train = new int[steps * batch * windowLength];
        Span<int> windows = stackalloc int[batch];
        for (var i = 0; i < steps; i++)
        {
            TrainWindows(epochOrder, stepInEpoch + i, rank, windows);
            for (var j = 0; j < batch; j++)
            {
                sampler.CopyWindow(DataSplit.Train, windows[j], offset, train.AsSpan((i * batch + j) * windowLength, windowLength));
            }
        }
        var validationWindows = ValidationWindows(sampler.ValidationWindows, rank);
        var validation = new int[validationWindows.Length * windowLength];
        for (var j = 0; j < validationWindows.Length; j++)
        {
            sampler.CopyWindow(DataSplit.Validation, validationWindows[j], 0, validation.AsSpan(j * windowLength, windowLength));
        }
        return (train, validation);
    }

    /// <summary>The validation windows rank <paramref name="rank"/> scores, of <paramref name="validationWindows"/> in all.</summary>
    public int[] ValidationWindows(int validationWindows, int rank)
    {
        CheckRank(rank);
        var windows = new int[(validationWindows - rank + WorldSize - 1) / WorldSize];
        for (var i = 0; i < windows.Length; i++)
        {
            windows[i] = rank + i * WorldSize;
        }
        return windows;
    }

    private void CheckRank(int rank)
    {
        if (rank < 0 || rank >= WorldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank {rank} must be in [0, {WorldSize}).");
        }
    }
}

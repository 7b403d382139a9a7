using Distributed.Models.Data;

namespace Distributed.Models.DataParallel;

/// <summary>
/// The one home of the data-parallel layout: which training windows rank r of W trains on at each
/// step, in which micro-batches, how much its gradient weighs, and which validation windows it scores.
/// The coordinator cuts shards with it, workers and the single-process trainer (a world of one) index
/// their windows with it, and protos/Grpc/distributed.proto describes the same order.
///
/// Training (DistributedSampler-style, per micro-batch): at step s of an epoch the global batch is
/// positions [s*B, (s+1)*B) of the epoch's shuffled window order, cut into k micro-batches of M = B/k
/// positions (k = grad_accum_steps; 1 is the whole batch). In micro-batch u, rank r takes positions
/// s*B + u*M + r + W*j, j = 0..m_r-1, with m_r = M/W plus one for the first M%W ranks. So rank r
/// trains on b_r = k*m_r windows per step, as k micro-batches of m_r (one training-graph size), and
/// its mean gradient weighs b_r/B: the weighted sum is exactly the global batch's mean gradient.
///
/// Shards: an assignment of n steps from step s0 sends rank r its windows of steps s0..s0+n-1 in step
/// order, each step's as its micro-batches in order, so step s0+i uses the shard's windows
/// [i*b_r, (i+1)*b_r) and its micro-batch u the m_r of them from i*b_r + u*m_r.
///
/// Validation: rank r of W scores the windows v of an evaluation with v % W == r.
/// </summary>
public readonly record struct DataParallelLayout
{
    /// <param name="microBatches">k: micro-batches per optimizer step (grad_accum_steps); must divide <paramref name="globalBatch"/>.</param>
    public DataParallelLayout(int worldSize, int globalBatch, int microBatches = 1)
    {
        if (worldSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, $"A run needs at least one worker, not {worldSize}.");
        }
        if (microBatches < 1 || globalBatch % microBatches != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(microBatches), microBatches,
                $"grad_accum_steps {microBatches} must be at least 1 and divide batch_size {globalBatch}.");
        }
        if (SharingProblem(worldSize, globalBatch, microBatches, $"the {worldSize} workers") is { } problem)
        {
            throw new ArgumentOutOfRangeException(nameof(globalBatch), globalBatch, problem);
        }
        (WorldSize, GlobalBatch, MicroBatches) = (worldSize, globalBatch, microBatches);
    }

    /// <summary>
    /// Why <paramref name="worldSize"/> ranks (called <paramref name="workers"/> in the message) cannot share a global
    /// batch in <paramref name="microBatches"/> micro-batches, naming the fix; null when each gets a sequence per micro-batch.
    /// </summary>
    public static string? SharingProblem(int worldSize, int globalBatch, int microBatches, string workers)
    {
        var microBatch = globalBatch / microBatches;
        return microBatch >= worldSize ? null
            : microBatches == 1
                ? $"batch_size {globalBatch} is smaller than {workers}: every worker needs at least one sequence per step; raise batch_size or use fewer workers."
                : $"batch_size {globalBatch} / grad_accum_steps {microBatches} = {microBatch} sequences per micro-batch is fewer than {workers}: " +
                  "every worker needs at least one sequence per micro-batch; raise batch_size, lower grad_accum_steps or use fewer workers.";
    }

    /// <summary>The most ranks a global batch of <paramref name="globalBatch"/> in <paramref name="microBatches"/> micro-batches can keep busy: one sequence each per micro-batch.</summary>
    public static int MaxWorldSize(int globalBatch, int microBatches) => globalBatch / microBatches;

    public int WorldSize { get; }

    /// <summary>B: sequences per optimizer step over all ranks (the config's batch_size).</summary>
    public int GlobalBatch { get; }

    /// <summary>k: micro-batches per optimizer step (the config's grad_accum_steps).</summary>
    public int MicroBatches { get; }

    /// <summary>b_r = k * m_r: the sequences rank <paramref name="rank"/> trains on per step.</summary>
    public int BatchOf(int rank) => MicroBatches * MicroBatchOf(rank);

    /// <summary>m_r: the sequences of one of rank <paramref name="rank"/>'s micro-batches (the batch size of its training graph).</summary>
    public int MicroBatchOf(int rank)
    {
        CheckRank(rank);
        var global = GlobalBatch / MicroBatches;
        return global / WorldSize + (rank < global % WorldSize ? 1 : 0);
    }

    /// <summary>Micro-batch <paramref name="micro"/> of a step's windows of rank <paramref name="rank"/> (as <see cref="TrainWindows"/> or <see cref="ShardWindows"/> wrote them).</summary>
    public ReadOnlySpan<int> MicroBatchWindows(ReadOnlySpan<int> stepWindows, int rank, int micro)
    {
        var count = MicroBatchOf(rank);
        if (stepWindows.Length != MicroBatches * count || micro < 0 || micro >= MicroBatches)
        {
            throw new ArgumentException(
                $"Rank {rank} of {WorldSize} has {MicroBatches} micro-batches of {count} windows per step; {stepWindows.Length} windows and micro-batch {micro} do not fit.");
        }
        return stepWindows.Slice(micro * count, count);
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
        var (micro, perMicro) = (GlobalBatch / MicroBatches, MicroBatchOf(rank));
        for (var u = 0; u < MicroBatches; u++)
        {
            var start = stepInEpoch * GlobalBatch + u * micro;
            for (var j = 0; j < perMicro; j++)
            {
                windows[u * perMicro + j] = epochOrder[start + rank + WorldSize * j];
            }
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
    /// order, and its share of <paramref name="validation"/> (the windows of the evaluation the assignment
    /// ends at), as tokens (whole windows of T + 1).
    /// </summary>
    public (int[] Train, int[] Validation) CutShard(EpochSampler sampler, ReadOnlySpan<int> epochOrder, int offset, int stepInEpoch, int steps, int rank,
        IWindowSource validation)
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
        var validationWindows = ValidationWindows(validation.Count, rank);
        var shard = new int[validationWindows.Length * windowLength];
        for (var j = 0; j < validationWindows.Length; j++)
        {
            validation.Window(validationWindows[j]).CopyTo(shard.AsSpan(j * windowLength, windowLength));
        }
        return (train, shard);
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

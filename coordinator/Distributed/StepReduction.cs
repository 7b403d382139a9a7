using System.Diagnostics;
using System.Runtime.InteropServices;
using Distributed.Models.DataParallel;
using Distributed.Protocol;

namespace Distributed.Coordinator.Distributed;

/// <summary>What a gradient bucket did to the step it belongs to.</summary>
public enum BucketEffect
{
    /// <summary>Taken; the step still waits for more.</summary>
    Taken,

    /// <summary>It completed the step: every bucket is reduced into the destination.</summary>
    StepReduced,

    /// <summary>Every member has now reported its loss and some are not finite: see <see cref="StepReduction.NonFiniteRanks"/>.</summary>
    NonFiniteLosses,
}

/// <summary>
/// The all-reduce of one step for one generation: each member's gradient arrives in buckets
/// (<see cref="DistributedBuckets"/>), in order; as soon as every rank has bucket k it is summed in rank
/// order, weighted by each rank's share of the global batch (<see cref="DataParallelLayout.WeightOf"/>),
/// written into the destination and handed to every member's <see cref="IGradientLink"/>. A member whose
/// loss is NaN or infinite is not summed: once every member has reported, the run drops it (or, when
/// all are non-finite, the run has diverged). Not thread-safe: the run calls it under its lock.
/// </summary>
public sealed class StepReduction
{
    private readonly float[] _destination;
    private readonly int _bucketCount;
    private float[][] _rankGradients = [];
    private int[] _received = [];          // buckets received per rank this step (they come in order)
    private int[] _bucketArrivals = [];    // ranks that have sent each bucket
    private float[] _rankLoss = [];
    private int _lossesReported, _bucketsReduced;
    private long _reductions;
    private long _began;                   // Stopwatch timestamps: the step's start, and each rank's first bucket
    private long[] _firstBucketAt = [];
    private IGradientLink?[] _links = [];
    private float[] _weights = [];
    private ReadOnlyMemory<float>[] _slices = [];

    public StepReduction(float[] destination)
    {
        _destination = destination;
        _bucketCount = DistributedBuckets.Count(destination.Length);
    }

    public int Step { get; private set; }

    public int BucketCount => _bucketCount;

    /// <summary>How long ago (at Stopwatch timestamp <paramref name="now"/>) the step began.</summary>
    public TimeSpan SinceBegan(long now) => Stopwatch.GetElapsedTime(_began, now);

    /// <summary>How long ago (at <paramref name="now"/>) <paramref name="rank"/>'s first bucket of the step arrived.</summary>
    public TimeSpan SinceFirstBucket(int rank, long now) => Stopwatch.GetElapsedTime(_firstBucketAt[rank], now);

    /// <summary>Starts the reduction of <paramref name="step"/> over a generation of <paramref name="layout"/>.WorldSize ranks.</summary>
    public void Begin(int step, DataParallelLayout layout, bool newGeneration)
    {
        var world = layout.WorldSize;
        if (_rankGradients.Length != world)
        {
            // One gradient buffer per rank, kept while the world size stays: nothing is allocated per step.
            _rankGradients = Enumerable.Range(0, world).Select(_ => new float[_destination.Length]).ToArray();
            _received = new int[world];
            _rankLoss = new float[world];
            _slices = new ReadOnlyMemory<float>[world];
            _firstBucketAt = new long[world];
        }
        if (newGeneration)
        {
            _weights = Enumerable.Range(0, world).Select(layout.WeightOf).ToArray();
        }
        if (newGeneration || _links.Length != world)
        {
            _links = new IGradientLink?[world];
        }
        Array.Clear(_received);
        _bucketArrivals = _bucketArrivals.Length == _bucketCount ? _bucketArrivals : new int[_bucketCount];
        Array.Clear(_bucketArrivals);
        (_lossesReported, _bucketsReduced, Step, _began) = (0, 0, step, Stopwatch.GetTimestamp());
    }

    public void Attach(int rank, IGradientLink link) => _links[rank] = link;

    /// <summary>Closes the step for every member's link.</summary>
    public void SendStepClosed(StepClosed closed)
    {
        foreach (var link in _links)
        {
            link?.SendStepClosed(closed);
        }
    }

    /// <summary>The step's global mean loss: every rank's loss weighted by its share of the batch.</summary>
    public float Loss
    {
        get
        {
            var loss = 0f;
            for (var rank = 0; rank < _rankLoss.Length; rank++)
            {
                loss += _weights[rank] * _rankLoss[rank];
            }
            return loss;
        }
    }

    /// <summary>Ranks whose loss this step is NaN or infinite.</summary>
    public IReadOnlyList<int> NonFiniteRanks
        => Enumerable.Range(0, _lossesReported == 0 ? 0 : _rankLoss.Length).Where(r => _received[r] > 0 && !float.IsFinite(_rankLoss[r])).ToList();

    /// <summary>Each rank that still owes buckets, and how many of them it has sent (for a hang report).</summary>
    public IEnumerable<(int Rank, int Received)> Missing
        => Enumerable.Range(0, _received.Length).Where(r => _received[r] < _bucketCount).Select(r => (r, _received[r]));

    /// <summary>Takes bucket <paramref name="bucket"/> of rank <paramref name="rank"/>'s gradient (little-endian float32 bytes).</summary>
    /// <param name="loss">The rank's batch loss; read with bucket 0.</param>
    public (BucketEffect Effect, string? Problem) Accept(int rank, int step, int bucket, ReadOnlySpan<byte> data, float loss)
    {
        if (step != Step)
        {
            return (BucketEffect.Taken, $"a gradient for step {step}, but the run is at step {Step}");
        }
        if (bucket < 0 || bucket >= _bucketCount)
        {
            return (BucketEffect.Taken, $"bucket index {bucket}, outside [0, {_bucketCount})");
        }
        if (bucket != _received[rank])
        {
            return (BucketEffect.Taken, bucket < _received[rank]
                ? $"bucket {bucket} of step {step} twice"
                : $"bucket {bucket} of step {step} before bucket {_received[rank]} (buckets come in order)");
        }
        var (start, length) = DistributedBuckets.Range(bucket, _destination.Length);
        if (data.Length != length * sizeof(float))
        {
            return (BucketEffect.Taken, $"bucket {bucket} of {data.Length} bytes; it must be {length * sizeof(float)} ({length} float32 values)");
        }
        if (bucket == 0)
        {
            _rankLoss[rank] = loss;
            _firstBucketAt[rank] = Stopwatch.GetTimestamp();
        }
        var finiteLoss = float.IsFinite(_rankLoss[rank]);
        var values = MemoryMarshal.Cast<byte, float>(data);
        if (finiteLoss && !GradientAverage.AllFinite(values))
        {
            return (BucketEffect.Taken, $"NaN or infinity in gradient bucket {bucket} of step {step}");
        }
        if (finiteLoss)
        {
            values.CopyTo(_rankGradients[rank].AsSpan(start, length));
        }
        _received[rank]++;
        var complete = ++_bucketArrivals[bucket] == _rankGradients.Length;
        // Bucket k can only complete after every rank's bucket 0 (buckets come in order), so a non-finite
        // loss is always decided before anything of that rank's is summed.
        if (bucket == 0 && ++_lossesReported == _rankLoss.Length && NonFiniteRanks.Count > 0)
        {
            return (BucketEffect.NonFiniteLosses, null);
        }
        if (complete)
        {
            Reduce(bucket, start, length);
            if (++_bucketsReduced == _bucketCount)
            {
                return (BucketEffect.StepReduced, null);
            }
        }
        return (BucketEffect.Taken, null);
    }

    private void Reduce(int bucket, int start, int length)
    {
        var destination = _destination.AsSpan(start, length);
        for (var rank = 0; rank < _slices.Length; rank++)
        {
            _slices[rank] = _rankGradients[rank].AsMemory(start, length);
        }
        GradientAverage.WeightedSum(_slices, _weights, destination);
        var reduced = new ReducedBucketView(++_reductions, Step, bucket, destination);
        foreach (var link in _links)
        {
            link?.SendReduced(reduced);
        }
    }
}

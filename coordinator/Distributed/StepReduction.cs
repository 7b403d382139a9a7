using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Distributed.Models;
using Distributed.Models.DataParallel;
using Distributed.Models.Training;
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

    /// <summary>
    /// A summed bucket is not finite because of shared-memory members' values (checked after the sum,
    /// as they are not copied): see <see cref="StepReduction.NonFiniteRanks"/>; none named means the sum itself overflowed.
    /// </summary>
    NonFiniteGradients,
}

/// <summary>
/// The all-reduce of one step for one generation: each member's gradient arrives in buckets
/// (<see cref="DistributedBuckets"/>), in order; as soon as every rank has bucket k it is summed in rank
/// order, weighted by each rank's share of the global batch (<see cref="DataParallelLayout.WeightOf"/>),
/// written into the destination (the shared-memory mirror, when there is one) and handed to every member's
/// <see cref="IGradientLink"/>; the sum of squares for clipping is taken on the way. A member whose loss
/// is NaN or infinite is not summed: once every member has reported, the run drops it (or, when all
/// are non-finite, the run has diverged).
///
/// Values from the network are copied into a buffer per rank and checked as they arrive. A
/// shared-memory member's values are read where they are (its file, valid until the step closes: the
/// worker writes it again only after), so buckets that complete together are summed in parallel with
/// no copy, and checked after the sum. (A process that can write that file is a process of the
/// coordinator's own user on its host, which could as well write the coordinator's memory.) The TCP data
/// plane hands over its per-member receive buffers the same way (<see cref="TcpGradientLink"/>). With bf16
/// on the wire the averaged gradient is rounded to bf16 here, once, so every replica applies the same
/// values whatever its transport. Not thread-safe: the run calls it under its lock.
/// </summary>
public sealed unsafe class StepReduction
{
    private static readonly ParallelOptions Parallelism = new() { MaxDegreeOfParallelism = Environment.ProcessorCount };

    private readonly float[] _destination;
    private nint _target;                    // where this step's sums go: the mirror's mapped values when there is one, else _destination
    private readonly int _bucketCount;
    private readonly AllReduceDtype _wire;
    private readonly List<int> _completed = [];
    private readonly double[] _bucketSquares;
    private float[]?[] _rankGradients = [];   // per rank, for values that arrive in messages (allocated on first use)
    private nint[] _sharedGradients = [];      // per rank, element 0 of its shared memory this step (0: none)
    private int[] _received = [];             // buckets received per rank this step (they come in order)
    private int[] _bucketArrivals = [];       // ranks that have sent each bucket
    private float[] _rankLoss = [];
    private int _lossesReported, _bucketsReduced;
    private long _reductions;
    private long _began;                   // Stopwatch timestamps: the step's start, and each rank's first bucket
    private long[] _firstBucketAt = [];
    private IGradientLink?[] _links = [];
    private float[] _weights = [];
    private readonly List<int> _nonFiniteGradientRanks = [];

    /// <param name="wire">How gradient bytes in <see cref="Accept"/> are encoded.</param>
    public StepReduction(float[] destination, AllReduceDtype wire = AllReduceDtype.Fp32)
    {
        (_destination, _wire) = (destination, wire);
        _bucketCount = DistributedBuckets.Count(destination.Length);
        _bucketSquares = new double[_bucketCount];
    }

    public int Step { get; private set; }

    public int BucketCount => _bucketCount;

    /// <summary>Where every reduced bucket is also written, as it is summed (the run's shared-memory file), or null.</summary>
    public IReducedMirror? Mirror { get; set; }

    /// <summary>The reduced gradient's sum of squares, once the step is reduced (bucket by bucket, in order).</summary>
    public double SumOfSquares
    {
        get
        {
            var total = 0.0;
            foreach (var squares in _bucketSquares)
            {
                total += squares;
            }
            return total;
        }
    }

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
            // Buffers are kept while the world size stays: nothing is allocated per step.
            _rankGradients = new float[]?[world];
            _sharedGradients = new nint[world];
            _received = new int[world];
            _rankLoss = new float[world];
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
        Array.Clear(_sharedGradients);
        _bucketArrivals = _bucketArrivals.Length == _bucketCount ? _bucketArrivals : new int[_bucketCount];
        Array.Clear(_bucketArrivals);
        Array.Clear(_bucketSquares);
        _nonFiniteGradientRanks.Clear();
        (_lossesReported, _bucketsReduced, Step, _began) = (0, 0, step, Stopwatch.GetTimestamp());
        _target = Mirror?.Values(_destination.Length) ?? 0;
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

    /// <summary>Ranks whose loss this step is NaN or infinite, or (after <see cref="BucketEffect.NonFiniteGradients"/>) whose shared gradient is.</summary>
    public IReadOnlyList<int> NonFiniteRanks => _nonFiniteGradientRanks.Count > 0
        ? _nonFiniteGradientRanks
        : Enumerable.Range(0, _lossesReported == 0 ? 0 : _rankLoss.Length).Where(r => _received[r] > 0 && !float.IsFinite(_rankLoss[r])).ToList();

    /// <summary>Each rank that still owes buckets, and how many of them it has sent (for a hang report).</summary>
    public IEnumerable<(int Rank, int Received)> Missing
        => Enumerable.Range(0, _received.Length).Where(r => _received[r] < _bucketCount).Select(r => (r, _received[r]));

    /// <summary>Takes bucket <paramref name="bucket"/> of rank <paramref name="rank"/>'s gradient (little-endian float32 or bf16 bytes, as the run's wire dtype).</summary>
    /// <param name="loss">The rank's batch loss; read with bucket 0.</param>
    public (BucketEffect Effect, string? Problem) Accept(int rank, int step, int bucket, ReadOnlySpan<byte> data, float loss)
    {
        if (Check(rank, step, bucket, 1) is { } problem)
        {
            return (BucketEffect.Taken, problem);
        }
        var (start, length) = DistributedBuckets.Range(bucket, _destination.Length);
        var size = _wire == AllReduceDtype.Bf16 ? Bfloat16.Size : sizeof(float);
        if (data.Length != length * size)
        {
            return (BucketEffect.Taken, $"bucket {bucket} of {data.Length} bytes; it must be {length * size} ({length} {(size == sizeof(float) ? "float32" : "bf16")} values)");
        }
        var target = (_rankGradients[rank] ??= GC.AllocateUninitializedArray<float>(_destination.Length, pinned: true)).AsSpan(start, length);
        if (_wire == AllReduceDtype.Bf16)
        {
            Bfloat16.Decode(data, target);
        }
        else
        {
            MemoryMarshal.Cast<byte, float>(data).CopyTo(target);
        }
        if (bucket == 0)
        {
            _rankLoss[rank] = loss;
            _firstBucketAt[rank] = Stopwatch.GetTimestamp();
        }
        // A rank whose loss is not finite is not summed (the run drops it), so its gradient is not judged.
        if (float.IsFinite(_rankLoss[rank]) && !GradientAverage.AllFinite(target))
        {
            return (BucketEffect.Taken, $"NaN or infinity in gradient bucket {bucket} of step {step}");
        }
        return Taken(rank, bucket, 1);
    }

    /// <summary>
    /// Takes buckets [<paramref name="first"/>, first + <paramref name="count"/>) of rank
    /// <paramref name="rank"/>'s gradient at once from its shared memory: <paramref name="values"/> are
    /// those buckets' float32 values, and must stay in place until the step is closed.
    /// </summary>
    public (BucketEffect Effect, string? Problem) AcceptShared(int rank, int step, int first, int count, ReadOnlySpan<float> values, float loss)
    {
        if (Check(rank, step, first, count) is { } problem)
        {
            return (BucketEffect.Taken, problem);
        }
        var start = DistributedBuckets.Range(first, _destination.Length).Start;
        var (lastStart, lastLength) = DistributedBuckets.Range(first + count - 1, _destination.Length);
        if (values.Length != lastStart + lastLength - start)
        {
            return (BucketEffect.Taken, $"buckets {first}..{first + count - 1} as {values.Length} values; they hold {lastStart + lastLength - start}");
        }
        if (first > 0 && _sharedGradients[rank] == 0)
        {
            return (BucketEffect.Taken, $"shared-memory buckets from {first} after buckets sent in messages (one transport per step)");
        }
        fixed (float* pointer = values)
        {
            _sharedGradients[rank] = (nint)(pointer - start);   // the file's mapping stays put: a raw address is safe to keep
        }
        if (first == 0)
        {
            _rankLoss[rank] = loss;
            _firstBucketAt[rank] = Stopwatch.GetTimestamp();
        }
        return Taken(rank, first, count);
    }

    private string? Check(int rank, int step, int first, int count)
    {
        if (step != Step)
        {
            return $"a gradient for step {step}, but the run is at step {Step}";
        }
        if (count < 1 || first < 0 || first > _bucketCount - count)
        {
            return count == 1 ? $"bucket index {first}, outside [0, {_bucketCount})" : $"buckets {first}..{first + count - 1}, outside [0, {_bucketCount})";
        }
        if (first != _received[rank])
        {
            return first < _received[rank]
                ? $"bucket {first} of step {step} twice"
                : $"bucket {first} of step {step} before bucket {_received[rank]} (buckets come in order)";
        }
        return null;
    }

    /// <summary>Counts the buckets taken; reduces those every rank now has.</summary>
    private (BucketEffect Effect, string? Problem) Taken(int rank, int first, int count)
    {
        _received[rank] += count;
        _completed.Clear();
        for (var bucket = first; bucket < first + count; bucket++)
        {
            if (++_bucketArrivals[bucket] == _received.Length)
            {
                _completed.Add(bucket);
            }
        }
        // Bucket k can only complete after every rank's bucket 0 (buckets come in order), so a non-finite
        // loss is always decided before anything of that rank's is summed.
        if (first == 0 && ++_lossesReported == _rankLoss.Length && NonFiniteRanks.Count > 0)
        {
            return (BucketEffect.NonFiniteLosses, null);
        }
        if (_completed.Count == 0)
        {
            return (BucketEffect.Taken, null);
        }
        if (!Reduce(_completed))
        {
            return (BucketEffect.NonFiniteGradients, null);
        }
        return (_bucketsReduced += _completed.Count) == _bucketCount ? (BucketEffect.StepReduced, null) : (BucketEffect.Taken, null);
    }

    /// <summary>Sums the buckets (in parallel when there are several); false when a sum is not finite.</summary>
    private bool Reduce(List<int> buckets)
    {
        var finite = 1;
        if (buckets.Count == 1)
        {
            finite = Sum(buckets[0]) ? 1 : 0;
        }
        else
        {
            Parallel.ForEach(buckets, Parallelism, bucket =>
            {
                if (!Sum(bucket))
                {
                    Volatile.Write(ref finite, 0);
                }
            });
        }
        if (finite == 0)
        {
            BlameSharedRanks(buckets);
            return false;
        }
        foreach (var bucket in buckets)
        {
            var (start, length) = DistributedBuckets.Range(bucket, _destination.Length);
            var reduced = new ReducedBucketView(++_reductions, Step, bucket, Target(start, length));
            foreach (var link in _links)
            {
                link?.SendReduced(reduced);
            }
        }
        return true;
    }

    /// <summary>One bucket: the weighted sum in rank order, bf16 rounding, its sum of squares, the mirror's copy. False when not finite.</summary>
    private bool Sum(int bucket)
    {
        var (start, length) = DistributedBuckets.Range(bucket, _destination.Length);
        var values = Target(start, length);
        Span<nint> slices = stackalloc nint[_received.Length];
        for (var rank = 0; rank < slices.Length; rank++)
        {
            slices[rank] = _sharedGradients[rank] is var shared and not 0
                ? shared + (nint)start * sizeof(float)
                : (nint)Unsafe.AsPointer(ref _rankGradients[rank]![start]);   // pinned
        }
        var squares = GradientAverage.WeightedSumOfSquares(slices, _weights, values, stream: _wire != AllReduceDtype.Bf16);
        if (_wire == AllReduceDtype.Bf16)
        {
            Bfloat16.Round(values);
            squares = Optimizer.SumOfSquares(values);
        }
        _bucketSquares[bucket] = squares;
        return double.IsFinite(squares);
    }

    /// <summary>
    /// Elements [start, start + length) of where the sums go. Straight into the mirror when there is one: a
    /// copy there as well would cost another write of the whole gradient per step, the coordinator's largest cost.
    /// </summary>
    private Span<float> Target(int start, int length)
        => _target != 0 ? new Span<float>((float*)_target + start, length) : _destination.AsSpan(start, length);

    private ReadOnlySpan<float> Values(int rank, int start, int length) => _sharedGradients[rank] is var shared and not 0
        ? new ReadOnlySpan<float>((float*)shared + start, length)
        : _rankGradients[rank].AsSpan(start, length);

    /// <summary>After a non-finite sum: the shared-memory ranks whose values are not finite (values from messages were checked on arrival).</summary>
    private void BlameSharedRanks(List<int> buckets)
    {
        for (var rank = 0; rank < _received.Length; rank++)
        {
            if (_sharedGradients[rank] != 0 && buckets.Any(bucket =>
                {
                    var (start, length) = DistributedBuckets.Range(bucket, _destination.Length);
                    return !GradientAverage.AllFinite(Values(rank, start, length));
                }))
            {
                _nonFiniteGradientRanks.Add(rank);
            }
        }
    }
}

/// <summary>Where the reduced gradient is summed when it exists (the run's shared-memory file), instead of the run's buffer.</summary>
public interface IReducedMirror
{
    /// <summary>
    /// The address of element 0 of its <paramref name="elements"/> values, mapped until the run is over (it
    /// reduces nothing after); 0 while there is none (no shared-memory member joined).
    /// </summary>
    nint Values(long elements);
}

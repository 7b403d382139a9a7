using Distributed.Coordinator.Distributed;
using Distributed.Models.DataParallel;
using Distributed.Protocol;

namespace Distributed.Tests.Coordinator;

public class StepReductionTests
{
    private const int Elements = 2 * DistributedBuckets.Elements + 1_000;   // three buckets, the last one short

    private static byte[] Bucket(int bucket, Func<int, float> value)
    {
        var (start, length) = DistributedBuckets.Range(bucket, Elements);
        return RunHarness.Bytes(Enumerable.Range(start, length).Select(value).ToArray());
    }

    [Fact]
    public void Buckets_are_summed_in_rank_order_with_batch_weights_whatever_order_they_arrive_in()
    {
        var destination = new float[Elements];
        var reduction = new StepReduction(destination);
        reduction.Begin(5, new DataParallelLayout(2, 3), newGeneration: true);   // rank 0 has 2 of 3 sequences, rank 1 has 1
        var links = new[] { new RecordingLink(), new RecordingLink() };
        reduction.Attach(0, links[0]);
        reduction.Attach(1, links[1]);
        var effects = new List<BucketEffect>();

        // Interleaved arrivals: rank 1 runs ahead of rank 0.
        foreach (var (rank, bucket) in new[] { (1, 0), (1, 1), (0, 0), (1, 2), (0, 1), (0, 2) })
        {
            var (effect, problem) = reduction.Accept(rank, 5, bucket, Bucket(bucket, i => rank == 0 ? i % 7 : -(i % 5)), rank == 0 ? 3f : 6f);
            Assert.Null(problem);
            effects.Add(effect);
        }

        Assert.Equal(BucketEffect.StepReduced, effects[^1]);
        Assert.All(effects[..^1], e => Assert.Equal(BucketEffect.Taken, e));
        for (var i = 0; i < Elements; i += 9_973)
        {
            Assert.Equal((float)(2.0 / 3) * (i % 7) + (float)(1.0 / 3) * -(i % 5), destination[i], 5);
        }
        Assert.Equal(4f, reduction.Loss, 5);   // 2/3 * 3 + 1/3 * 6
        Assert.All(links, l => Assert.Equal([0, 1, 2], l.Reduced.Select(r => r.Bucket).Order()));
    }

    [Theory]
    [InlineData(1, "bucket 1 of step 0 before bucket 0 (buckets come in order)")]
    [InlineData(3, "bucket index 3, outside [0, 3)")]
    [InlineData(-1, "bucket index -1, outside [0, 3)")]
    public void Out_of_order_and_out_of_range_buckets_are_refused(int bucket, string problem)
    {
        var reduction = new StepReduction(new float[Elements]);
        reduction.Begin(0, new DataParallelLayout(1, 1), newGeneration: true);

        var (_, refused) = reduction.Accept(0, 0, bucket, Bucket(Math.Clamp(bucket, 0, 2), _ => 1f), 1f);

        Assert.Equal(problem, refused);
    }

    [Fact]
    public void A_non_finite_loss_is_decided_once_every_rank_reported_and_nothing_of_it_is_summed()
    {
        var destination = new float[Elements];
        var reduction = new StepReduction(destination);
        reduction.Begin(0, new DataParallelLayout(2, 2), newGeneration: true);
        var link = new RecordingLink();
        reduction.Attach(1, link);

        var first = reduction.Accept(0, 0, 0, Bucket(0, _ => float.NaN), float.NaN);
        var second = reduction.Accept(1, 0, 0, Bucket(0, _ => 1f), 2f);

        Assert.Equal((BucketEffect.Taken, (string?)null), first);
        Assert.Equal((BucketEffect.NonFiniteLosses, (string?)null), second);
        Assert.Equal([0], reduction.NonFiniteRanks);
        Assert.Empty(link.Reduced);
        Assert.All(destination, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void A_new_step_starts_clean_and_reports_who_still_owes_buckets()
    {
        var reduction = new StepReduction(new float[Elements]);
        var layout = new DataParallelLayout(2, 2);
        reduction.Begin(0, layout, newGeneration: true);
        reduction.Accept(0, 0, 0, Bucket(0, _ => 1f), 1f);

        reduction.Begin(1, layout, newGeneration: false);
        reduction.Accept(1, 1, 0, Bucket(0, _ => 1f), 1f);

        Assert.Equal([(0, 0), (1, 1)], reduction.Missing);
        Assert.Equal("a gradient for step 0, but the run is at step 1", reduction.Accept(0, 0, 0, Bucket(0, _ => 1f), 1f).Problem);
    }

    [Fact]
    public void Three_ranks_reduce_to_the_same_bits_whatever_order_their_buckets_arrive_in()
    {
        var layout = new DataParallelLayout(3, 7);   // shares 3, 2, 2
        float Value(int rank, int i) => MathF.Sin(i * 0.37f + rank) * (rank + 1) * 1e-3f;
        float[] Reduce(IEnumerable<(int Rank, int Bucket)> order)
        {
            var destination = new float[Elements];
            var reduction = new StepReduction(destination);
            reduction.Begin(0, layout, newGeneration: true);
            foreach (var (rank, bucket) in order)
            {
                Assert.Null(reduction.Accept(rank, 0, bucket, Bucket(bucket, i => Value(rank, i)), 1f).Problem);
            }
            return destination;
        }

        var inOrder = Reduce(from rank in Enumerable.Range(0, 3) from bucket in Enumerable.Range(0, 3) select (rank, bucket));
        var interleaved = Reduce([(2, 0), (0, 0), (2, 1), (1, 0), (2, 2), (0, 1), (1, 1), (0, 2), (1, 2)]);

        Assert.Equal(inOrder, interleaved);   // bit for bit: summed in rank order, not arrival order
        Assert.Equal((3 * Value(0, 5) + 2 * Value(1, 5) + 2 * Value(2, 5)) / 7, inOrder[5], 6);
    }

    [Fact]
    public void Shared_memory_ranks_sum_to_the_same_bits_as_ranks_that_send_messages_and_the_clip_norm_comes_with_the_sum()
    {
        var layout = new DataParallelLayout(2, 3);
        float Value(int rank, int i) => MathF.Cos(i * 0.11f + rank) * 1e-2f;
        var whole = Enumerable.Range(0, 2).Select(rank => Enumerable.Range(0, Elements).Select(i => Value(rank, i)).ToArray()).ToArray();

        var viaMessages = new float[Elements];
        var messages = new StepReduction(viaMessages);
        messages.Begin(0, layout, newGeneration: true);
        foreach (var (rank, bucket) in from bucket in Enumerable.Range(0, 3) from rank in Enumerable.Range(0, 2) select (rank, bucket))
        {
            Assert.Null(messages.Accept(rank, 0, bucket, Bucket(bucket, i => Value(rank, i)), 1f).Problem);
        }
        var viaShared = new float[Elements];
        var mirror = new RecordingMirror(Elements);
        var shared = new StepReduction(viaShared) { Mirror = mirror };
        shared.Begin(0, layout, newGeneration: true);
        Assert.Equal(BucketEffect.Taken, shared.AcceptShared(0, 0, 0, 3, whole[0], 1f).Effect);
        Assert.Equal(BucketEffect.StepReduced, shared.AcceptShared(1, 0, 0, 3, whole[1], 1f).Effect);

        Assert.Equal(viaMessages, mirror.Values);   // summed straight into the mirror: one write of the gradient per step
        Assert.All(viaShared, v => Assert.Equal(0f, v));
        var exact = mirror.Values.Sum(v => (double)v * v);
        Assert.True(Math.Abs(shared.SumOfSquares - exact) <= 1e-6 * exact, $"{shared.SumOfSquares} vs {exact}");   // float32 partial sums
    }

    [Fact]
    public void A_non_finite_value_in_shared_memory_is_found_after_the_sum_and_blamed_on_its_rank()
    {
        var reduction = new StepReduction(new float[Elements]);
        reduction.Begin(0, new DataParallelLayout(2, 2), newGeneration: true);
        var good = Enumerable.Repeat(1f, Elements).ToArray();
        var bad = good.ToArray();
        bad[DistributedBuckets.Elements + 5] = float.PositiveInfinity;

        reduction.AcceptShared(0, 0, 0, 3, good, 1f);
        var (effect, problem) = reduction.AcceptShared(1, 0, 0, 3, bad, 1f);

        Assert.Equal((BucketEffect.NonFiniteGradients, (string?)null), (effect, problem));
        Assert.Equal([1], reduction.NonFiniteRanks);
    }

    private sealed unsafe class RecordingMirror(int elements) : IReducedMirror
    {
        public float[] Values { get; } = GC.AllocateArray<float>(elements, pinned: true);

        nint IReducedMirror.Values(long count)
        {
            fixed (float* values = Values)
            {
                return (nint)values;
            }
        }
    }
}

using Distributed.Models.DataParallel;

namespace Distributed.Tests.DataParallel;

/// <summary>The all-reduce's pass over a bucket, against the plain loop it stands for.</summary>
public sealed class GradientAverageTests
{
    [Theory]
    [InlineData(1, 0, 1_000)]      // one rank; a length with a scalar tail
    [InlineData(2, 0, 5_000)]      // several whole blocks
    [InlineData(3, 1, 4_099)]      // an unaligned output and slices
    public unsafe void The_weighted_sum_is_the_rank_ordered_sum_and_its_squares_are_summed_on_the_way(int ranks, int shift, int length)
    {
        var rng = new Random(ranks * 7 + length);
        var gradients = Enumerable.Range(0, ranks).Select(_ => Enumerable.Range(0, length + shift).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray()).ToArray();
        var weights = Enumerable.Range(0, ranks).Select(r => (r + 1f) / (ranks * (ranks + 1) / 2f)).ToArray();
        var output = GC.AllocateArray<float>(length + 8, pinned: true);

        double squares;
        fixed (float* g0 = gradients[0], g1 = gradients[ranks > 1 ? 1 : 0], g2 = gradients[ranks > 2 ? 2 : 0])
        {
            nint[] slices = [(nint)(g0 + shift), (nint)(g1 + shift), (nint)(g2 + shift)];
            squares = GradientAverage.WeightedSumOfSquares(slices.AsSpan(0, ranks), weights, output.AsSpan(shift, length));
        }

        var expected = new float[length];
        for (var i = 0; i < length; i++)
        {
            var sum = gradients[0][i + shift] * weights[0];
            for (var r = 1; r < ranks; r++)
            {
                sum += gradients[r][i + shift] * weights[r];
            }
            expected[i] = sum;
        }
        Assert.Equal(expected, output.AsSpan(shift, length).ToArray());   // the same bits, not just close
        var exact = expected.Sum(v => (double)v * v);
        Assert.True(Math.Abs(squares - exact) <= 1e-6 * exact, $"{squares} vs {exact}");
        Assert.All(output.Take(shift).Concat(output.Skip(shift + length)), v => Assert.Equal(0f, v));   // nothing outside
    }
}

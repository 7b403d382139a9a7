using System.Numerics.Tensors;

namespace Distributed.Models.DataParallel;

/// <summary>
/// The all-reduce's arithmetic: the weighted sum of every rank's gradient slice, always added in rank
/// order so the result is the same bits on every run, whatever order the slices arrived in.
/// </summary>
public static class GradientAverage
{
    /// <summary>
    /// destination = sum over ranks of weights[r] * ranks[r][start .. start + destination.Length), added
    /// in rank order. Allocates nothing, so buckets can be summed in parallel.
    /// </summary>
    /// <param name="ranks">Each rank's whole gradient, indexed by rank.</param>
    /// <param name="weights">Each rank's weight (its share of the global batch).</param>
    public static void WeightedSum(IReadOnlyList<float[]> ranks, IReadOnlyList<float> weights, int start, Span<float> destination)
    {
        for (var rank = 0; rank < ranks.Count; rank++)
        {
            AddWeighted(ranks[rank].AsSpan(start, destination.Length), weights[rank], destination, first: rank == 0);
        }
    }

    /// <summary>One rank's term of <see cref="WeightedSum"/>: destination (+)= weight * slice; <paramref name="first"/> overwrites.</summary>
    public static void AddWeighted(ReadOnlySpan<float> slice, float weight, Span<float> destination, bool first)
    {
        if (first)
        {
            TensorPrimitives.Multiply(slice, weight, destination);
        }
        else
        {
            TensorPrimitives.MultiplyAdd(slice, weight, destination, destination);
        }
    }

    /// <summary>True when every value is finite: a NaN or infinity would poison every replica.</summary>
    public static bool AllFinite(ReadOnlySpan<float> values)
    {
        // x - x is 0 exactly when x is finite (NaN and infinities give NaN).
        var i = 0;
        var zero = System.Numerics.Vector<float>.Zero;
        for (; i <= values.Length - System.Numerics.Vector<float>.Count; i += System.Numerics.Vector<float>.Count)
        {
            var v = new System.Numerics.Vector<float>(values[i..]);
            if (!System.Numerics.Vector.EqualsAll(v - v, zero))
            {
                return false;
            }
        }
        for (; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return false;
            }
        }
        return true;
    }
}

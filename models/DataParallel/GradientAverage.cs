using System.Numerics.Tensors;

namespace Distributed.Models.DataParallel;

/// <summary>
/// The all-reduce's arithmetic: the weighted sum of every rank's gradient slice, always added in rank
/// order so the result is the same bits on every run, whatever order the slices arrived in.
/// </summary>
public static class GradientAverage
{
    /// <param name="slices">Each rank's slice, indexed by rank.</param>
    /// <param name="weights">Each rank's weight (its share of the global batch).</param>
    public static void WeightedSum(IReadOnlyList<ReadOnlyMemory<float>> slices, IReadOnlyList<float> weights, Span<float> destination)
    {
        TensorPrimitives.Multiply(slices[0].Span, weights[0], destination);
        for (var rank = 1; rank < slices.Count; rank++)
        {
            TensorPrimitives.MultiplyAdd(slices[rank].Span, weights[rank], destination, destination);
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

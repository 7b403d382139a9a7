using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
    public static unsafe void WeightedSum(IReadOnlyList<float[]> ranks, IReadOnlyList<float> weights, int start, Span<float> destination)
    {
        var handles = ranks.Select(r => GCHandle.Alloc(r, GCHandleType.Pinned)).ToArray();
        try
        {
            var slices = handles.Select(h => (nint)((float*)h.AddrOfPinnedObject() + start)).ToArray();
            WeightedSumOfSquares(slices, [.. weights], destination);
        }
        finally
        {
            Array.ForEach(handles, h => h.Free());
        }
    }

    /// <summary>
    /// The all-reduce's one pass over a bucket: destination[i] = w0 * g0[i] + w1 * g1[i] + ... (multiplied, then
    /// added in rank order, so the same bits whatever arrived first), returning the sum of the results' squares (for
    /// clipping) from the same pass. The coordinator's cost per step is this pass over every worker's gradient, which
    /// is memory-bound: each value is read once, and the result goes out with non-temporal stores when aligned (it
    /// is not read again here, and a cached store would first read the old line).
    /// </summary>
    /// <param name="ranks">Each rank's values for this bucket: the address of its element 0, pinned or mapped.</param>
    /// <param name="stream">False when the caller reads the results again at once (bf16 rounding): cached stores then.</param>
    public static unsafe double WeightedSumOfSquares(ReadOnlySpan<nint> ranks, ReadOnlySpan<float> weights, Span<float> destination, bool stream = true)
    {
        const int block = 1024;   // squares are summed in float per block of this many, then in double
        var total = 0.0;
        var n = destination.Length;
        fixed (float* output = destination)
        {
            var i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                Span<Vector256<float>> w = stackalloc Vector256<float>[ranks.Length];
                for (var r = 0; r < ranks.Length; r++)
                {
                    w[r] = Vector256.Create(weights[r]);
                }
                var streaming = stream && Avx.IsSupported && ((nint)output & 31) == 0;
                var width = Vector256<float>.Count;
                for (; i <= n - width;)
                {
                    var end = Math.Min(n - width, i + block - width);
                    var squares = Vector256<float>.Zero;
                    for (; i <= end; i += width)
                    {
                        var sum = Vector256.Load((float*)ranks[0] + i) * w[0];
                        for (var r = 1; r < ranks.Length; r++)
                        {
                            sum += Vector256.Load((float*)ranks[r] + i) * w[r];
                        }
                        if (streaming)
                        {
                            Avx.StoreAlignedNonTemporal(output + i, sum);
                        }
                        else
                        {
                            sum.Store(output + i);
                        }
                        squares += sum * sum;
                    }
                    total += Vector256.Sum(squares);
                }
                if (streaming)
                {
                    Sse.StoreFence();   // the stores are seen before the bucket is handed on
                }
            }
            var tail = 0.0;   // the whole bucket, where there is no 256-bit vector unit
            for (; i < n; i++)
            {
                var sum = ((float*)ranks[0])[i] * weights[0];
                for (var r = 1; r < ranks.Length; r++)
                {
                    sum += ((float*)ranks[r])[i] * weights[r];
                }
                output[i] = sum;
                tail += (double)sum * sum;
            }
            return total + tail;
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

using Distributed.Models.Graph;

namespace Distributed.Models.Autodiff;

public static partial class Ops
{
    private const string MicrosoftDomain = "com.microsoft";

    // ---- MatMul: y = a @ b, with a [..., M, K] and b either a weight [K, N] or a batch [..., K, N].
    //   da = dy @ b^T
    //   db = a^T @ dy, summed over a's batch dims when b is a shared weight.
    // FusedMatMul (com.microsoft, in every ORT build) does the transposes without extra nodes.
    public static Value MatMul(this OnnxGraph g, Value a, Value b)
    {
        var batched = b.Rank > 2;
        if (batched && b.Rank != a.Rank)
        {
            throw new InvalidOperationException($"MatMul of {a} with {b}: batched operands must have equal rank.");
        }
        var shape = a.Shape[..^1].Append(b.Shape[^1]).ToArray();
        var y = g.Op("MatMul", [a, b], a.Type, shape);
        g.Tape.Record(y, dy =>
        {
            g.Tape.Accumulate(a, () => g.FusedMatMul(dy, b, transA: false, transB: true, a.Shape));
            g.Tape.Accumulate(b, () => batched
                ? g.FusedMatMul(a, dy, transA: true, transB: false, b.Shape)
                : g.FusedMatMul(g.Reshape(a, [-1, a.Shape[^1]]), g.Reshape(dy, [-1, dy.Shape[^1]]), transA: true, transB: false, b.Shape));
        });
        return y;
    }

    /// <summary>op(a) @ op(b) with optional transposes of the last two axes (gradient rules only).</summary>
    private static Value FusedMatMul(this OnnxGraph g, Value a, Value b, bool transA, bool transB, long[] shape)
        => g.Op("FusedMatMul", [a, b], a.Type, shape, n => n.Int("transA", transA ? 1 : 0).Int("transB", transB ? 1 : 0),
            domain: MicrosoftDomain);
}

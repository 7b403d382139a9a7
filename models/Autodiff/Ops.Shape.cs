using Distributed.Models.Graph;

namespace Distributed.Models.Autodiff;

public static partial class Ops
{
    // ---- Reshape: dx = reshape(dy, shape of x). Target dims follow ONNX: 0 copies, -1 infers.
    public static Value Reshape(this OnnxGraph g, Value x, long[] target)
    {
        var y = g.Op("Reshape", [x, g.Int64s(target)], x.Type, ReshapedShape(x.Shape, target));
        g.Tape.Record(y, dy => g.Tape.Accumulate(x, () => g.Reshape(dy, x.Shape)));
        return y;
    }

    // ---- Transpose: dx = transpose(dy, inverse permutation)
    public static Value Transpose(this OnnxGraph g, Value x, params long[] perm)
    {
        var y = g.Op("Transpose", [x], x.Type, perm.Select(p => x.Shape[p]).ToArray(), n => n.Ints("perm", perm));
        g.Tape.Record(y, dy =>
        {
            var inverse = new long[perm.Length];
            for (var i = 0; i < perm.Length; i++)
            {
                inverse[perm[i]] = i;
            }
            g.Tape.Accumulate(x, () => g.Transpose(dy, inverse));
        });
        return y;
    }

    // ---- Split into equal parts along the last axis: dx = concat(dy_1, ..., dy_n)
    public static Value[] SplitLast(this OnnxGraph g, Value x, int parts)
    {
        var width = x.Shape[^1] / parts;
        var shape = x.Shape[..^1].Append(width).ToArray();
        var outputs = Enumerable.Range(0, parts).Select(_ => g.NewName("split")).ToArray();
        g.Node("Split", [x, g.Int64s(Enumerable.Repeat(width, parts).ToArray())], outputs).Int("axis", -1);
        var ys = outputs.Select(o => new Value(o, x.Type, shape, x.RequiresGrad)).ToArray();
        g.Tape.Record(ys, dys =>
        {
            var grads = dys.Select(d => d ?? ZerosLike(g, ys[0])).ToArray();
            g.Tape.Accumulate(x, () => g.Op("Concat", grads, x.Type, x.Shape, n => n.Int("axis", -1)));
        });
        return ys;
    }

    // ---- The first `rows` rows of a table (position embeddings for a sequence of `rows` tokens).
    //   dx = dy padded with zero rows back to the table's height.
    public static Value FirstRows(this OnnxGraph g, Value table, Value rows, long staticRows)
    {
        var y = g.Op("Slice", [table, g.Int64s(0), rows, g.Int64s(0)], table.Type,
            [staticRows, .. table.Shape[1..]]);
        g.Tape.Record(y, dy => g.Tape.Accumulate(table, () => staticRows == table.Shape[0]
            ? dy
            : g.Op("Pad", [dy, g.Int64s(0, 0, table.Shape[0] - staticRows, 0)], dy.Type, table.Shape)));
        return y;
    }

    /// <summary>The length of axis <paramref name="axis"/> of <paramref name="x"/> as a 1-element int64 tensor.</summary>
    public static Value DimOf(this OnnxGraph g, Value x, int axis)
        => g.Op("Shape", [x], ElementType.Int64, [1], n => n.Int("start", axis).Int("end", axis + 1), requiresGrad: false);

    private static long[] ReshapedShape(long[] input, long[] target)
    {
        var shape = target.Select((d, i) => d == 0 ? input[i] : d).ToArray();
        var inferred = Array.IndexOf(shape, -1L);
        if (inferred >= 0 && input.All(d => d >= 0) && shape.Count(d => d < 0) == 1)
        {
            var known = shape.Where(d => d >= 0).Aggregate(1L, (a, d) => a * d);
            shape[inferred] = input.Aggregate(1L, (a, d) => a * d) / known;
        }
        return shape;
    }
}

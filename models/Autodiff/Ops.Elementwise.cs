using Distributed.Models.Graph;
using Distributed.Onnx;

namespace Distributed.Models.Autodiff;

/// <summary>
/// The differentiable ops the GPT is made of. Each op writes its forward node(s) and, right beside,
/// records its gradient rule on the graph's tape. Shapes follow numpy broadcasting; gradient rules
/// need static shapes, which training graphs have.
/// </summary>
public static partial class Ops
{
    // ---- Add: y = a + b;  da = sum_broadcast(dy), db = sum_broadcast(dy)
    public static Value Add(this OnnxGraph g, Value a, Value b)
    {
        var y = g.Op("Add", [a, b], a.Type, BroadcastShape(a, b));
        g.Tape.Record(y, dy =>
        {
            g.Tape.Accumulate(a, () => g.SumToShape(dy, a.Shape));
            g.Tape.Accumulate(b, () => g.SumToShape(dy, b.Shape));
        });
        return y;
    }

    // ---- Sub: y = a - b;  da = sum_broadcast(dy), db = -sum_broadcast(dy)
    public static Value Sub(this OnnxGraph g, Value a, Value b)
    {
        var y = g.Op("Sub", [a, b], a.Type, BroadcastShape(a, b));
        g.Tape.Record(y, dy =>
        {
            g.Tape.Accumulate(a, () => g.SumToShape(dy, a.Shape));
            g.Tape.Accumulate(b, () => g.Neg(g.SumToShape(dy, b.Shape)));
        });
        return y;
    }

    // ---- Mul: y = a * b;  da = sum_broadcast(dy * b), db = sum_broadcast(dy * a)
    public static Value Mul(this OnnxGraph g, Value a, Value b)
    {
        var y = g.Op("Mul", [a, b], a.Type, BroadcastShape(a, b));
        g.Tape.Record(y, dy =>
        {
            g.Tape.Accumulate(a, () => g.SumToShape(g.Mul(dy, b), a.Shape));
            g.Tape.Accumulate(b, () => g.SumToShape(g.Mul(dy, a), b.Shape));
        });
        return y;
    }

    /// <summary>y = x * c for a constant c.</summary>
    public static Value Scale(this OnnxGraph g, Value x, double c) => g.Mul(x, g.Scalar(c));

    // ---- Neg: y = -x;  dx = -dy
    public static Value Neg(this OnnxGraph g, Value x)
    {
        var y = g.Op("Neg", [x], x.Type, x.Shape);
        g.Tape.Record(y, dy => g.Tape.Accumulate(x, () => g.Neg(dy)));
        return y;
    }

    /// <summary>
    /// Sums <paramref name="dy"/> over the axes along which a tensor of <paramref name="shape"/> was
    /// broadcast to dy's shape: the gradient rule shared by every broadcasting op.
    /// </summary>
    public static Value SumToShape(this OnnxGraph g, Value dy, long[] shape)
    {
        if (dy.Shape.SequenceEqual(shape))
        {
            return dy;
        }
        var offset = dy.Rank - shape.Length;
        var axes = new List<long>();
        for (var i = 0; i < dy.Rank; i++)
        {
            if (i < offset || (shape[i - offset] == 1 && dy.Shape[i] != 1))
            {
                axes.Add(i);
            }
        }
        var summed = g.ReduceSum(dy, [.. axes], keepDims: true);
        return summed.Rank == shape.Length ? summed : g.Reshape(summed, shape);
    }

    /// <summary>Sum over <paramref name="axes"/> (not differentiated: only used inside gradient rules).</summary>
    public static Value ReduceSum(this OnnxGraph g, Value x, long[] axes, bool keepDims)
        => Reduce(g, "ReduceSum", x, axes, keepDims);

    /// <summary>Mean over <paramref name="axes"/> (not differentiated: only used inside gradient rules).</summary>
    public static Value ReduceMean(this OnnxGraph g, Value x, long[] axes, bool keepDims)
        => Reduce(g, "ReduceMean", x, axes, keepDims);

    private static Value Reduce(OnnxGraph g, string op, Value x, long[] axes, bool keepDims)
    {
        var normalized = axes.Select(a => a < 0 ? a + x.Rank : a).ToHashSet();
        var shape = Enumerable.Range(0, x.Rank)
            .Where(i => keepDims || !normalized.Contains(i))
            .Select(i => normalized.Contains(i) ? 1 : x.Shape[i])
            .ToArray();
        return g.Op(op, [x, g.Int64s(axes)], x.Type, shape, n => n.Int("keepdims", keepDims ? 1 : 0));
    }

    /// <summary>A tensor of zeros with the shape and type of <paramref name="like"/> (static shapes only).</summary>
    public static Value ZerosLike(OnnxGraph g, Value like) => g.Filled(like.Shape, 0.0);

    /// <summary>A tensor of the graph's float type filled with <paramref name="value"/>.</summary>
    public static Value Filled(this OnnxGraph g, long[] shape, double value)
    {
        var fill = new TensorProto { DataType = (int)g.FloatType };
        fill.Dims.Add(1);
        fill.RawData = Google.Protobuf.ByteString.CopyFrom(g.FloatType == ElementType.Double
            ? BitConverter.GetBytes(value)
            : BitConverter.GetBytes((float)value));
        return g.Op("ConstantOfShape", [g.Int64s(shape)], g.FloatType, shape, n => n.Attribute.Add(new AttributeProto
        {
            Name = "value",
            Type = AttributeProto.Types.AttributeType.Tensor,
            T = fill,
        }), requiresGrad: false);
    }

    internal static long[] BroadcastShape(Value a, Value b)
    {
        var rank = Math.Max(a.Rank, b.Rank);
        var shape = new long[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i - (rank - a.Rank) >= 0 ? a.Shape[i - (rank - a.Rank)] : 1;
            var db = i - (rank - b.Rank) >= 0 ? b.Shape[i - (rank - b.Rank)] : 1;
            shape[i] = da == 1 ? db : db == 1 ? da : da == db || da < 0 || db < 0 ? Math.Max(da, db)
                : throw new InvalidOperationException($"Cannot broadcast {a} with {b}.");
        }
        return shape;
    }
}

namespace Distributed.Models.Graph;

/// <summary>
/// A tensor flowing through a graph under construction: its ONNX name, element type and shape.
/// A dimension of -1 is only known at run time (the inference graph's batch and sequence).
/// </summary>
public sealed record Value(string Name, ElementType Type, long[] Shape, bool RequiresGrad)
{
    public int Rank => Shape.Length;

    public bool IsStatic => Shape.All(d => d >= 0);

    public long Count => Shape.Aggregate(1L, (a, d) => a * d);

    public override string ToString() => $"{Name}:{Type}[{string.Join(",", Shape)}]";
}

/// <summary>The element types our graphs use; ONNX's TensorProto.DataType codes.</summary>
public enum ElementType
{
    Float = 1,
    Int64 = 7,
    Bool = 9,
    Double = 11,
}

using System.Globalization;
using System.Runtime.InteropServices;
using Distributed.Onnx;
using Google.Protobuf;

namespace Distributed.Models.Graph;

/// <summary>
/// Writes an ONNX graph node by node. Floating-point tensors use one element type for the whole
/// graph (float32 for training, float64 for the gradient checks), so every op is written once.
/// Backward rules are recorded on the <see cref="Autodiff.Tape"/> that the ops share with this graph.
/// </summary>
public sealed class OnnxGraph
{
    /// <summary>Opset of the default domain. 20: ReduceSum/ReduceMean take axes as an input (18), Gelu exists (20).</summary>
    public const int Opset = 20;

    private readonly GraphProto _graph = new();
    private readonly Dictionary<string, Value> _constants = new();
    private int _nextId;

    public OnnxGraph(ElementType floatType, string name)
    {
        if (floatType is not (ElementType.Float or ElementType.Double))
        {
            throw new ArgumentException($"Graphs compute in Float or Double, not {floatType}.", nameof(floatType));
        }
        FloatType = floatType;
        _graph.Name = name;
        Tape = new Autodiff.Tape(this);
    }

    public ElementType FloatType { get; }

    public Autodiff.Tape Tape { get; }

    public Value Input(string name, ElementType type, long[] shape, bool requiresGrad = false, string[]? dimNames = null)
    {
        _graph.Input.Add(ValueInfo(name, type, shape, dimNames));
        return new Value(name, type, shape, requiresGrad);
    }

    /// <summary>Declares <paramref name="value"/> a graph output under <paramref name="name"/>.</summary>
    public void Output(Value value, string name, string[]? dimNames = null)
    {
        if (value.Name != name)
        {
            Node("Identity", [value], [name]);
        }
        _graph.Output.Add(ValueInfo(name, value.Type, value.Shape, dimNames));
    }

    /// <summary>A fresh unique tensor name with a readable stem.</summary>
    public string NewName(string stem) => $"{stem}_{_nextId++}";

    /// <summary>Emits one node with a single output of the given type and shape.</summary>
    public Value Op(string opType, IReadOnlyList<Value> inputs, ElementType type, long[] shape,
        Action<NodeProto>? attributes = null, string domain = "", bool? requiresGrad = null)
    {
        var name = NewName(opType.ToLowerInvariant());
        var node = Node(opType, inputs, [name], domain);
        attributes?.Invoke(node);
        return new Value(name, type, shape, requiresGrad ?? inputs.Any(i => i.RequiresGrad));
    }

    /// <summary>Emits one node with explicitly named outputs (for multi-output ops).</summary>
    public NodeProto Node(string opType, IReadOnlyList<Value?> inputs, IReadOnlyList<string> outputs, string domain = "")
    {
        var node = new NodeProto { OpType = opType, Name = $"n{_graph.Node.Count}_{opType}", Domain = domain };
        node.Input.AddRange(inputs.Select(i => i?.Name ?? ""));
        node.Output.AddRange(outputs);
        _graph.Node.Add(node);
        return node;
    }

    /// <summary>A floating-point constant of the graph's type, shared by every use of the same value.</summary>
    public Value Scalar(double value) => FloatConstant([value], []);

    public Value FloatConstant(double[] values, long[] shape)
    {
        var key = $"f:{string.Join(",", shape)}:{string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}";
        if (values.Length > 16)
        {
            return AddInitializer(NewName("const"), FloatType, shape, FloatBytes(values));
        }
        if (!_constants.TryGetValue(key, out var constant))
        {
            constant = AddInitializer(NewName("const"), FloatType, shape, FloatBytes(values));
            _constants[key] = constant;
        }
        return constant;
    }

    /// <summary>An int64 constant (shapes, axes, indices), shared by every use of the same value.</summary>
    public Value Int64s(params long[] values) => Int64Constant(values, [values.Length]);

    public Value Int64Constant(long[] values, long[] shape)
    {
        var key = $"i:{string.Join(",", shape)}:{string.Join(",", values)}";
        if (!_constants.TryGetValue(key, out var constant))
        {
            constant = AddInitializer(NewName("const"), ElementType.Int64, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
            _constants[key] = constant;
        }
        return constant;
    }

    /// <summary>
    /// A named float32 tensor stored in the model itself (the exported model's weights), from its raw
    /// little-endian bytes. Wrapped, not copied: the model reads <paramref name="data"/> when it is serialized.
    /// </summary>
    public Value Weight(string name, ReadOnlyMemory<byte> data, long[] shape)
        => AddInitializer(name, ElementType.Float, shape, UnsafeByteOperations.UnsafeWrap(data));

    public ModelProto ToModel(string docString = "")
    {
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "Distributed.Models",
            ProducerVersion = "1",
            DocString = docString,
            Graph = _graph.Clone(),
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        return model;
    }

    public byte[] ToBytes(string docString = "") => ToModel(docString).ToByteArray();

    private Value AddInitializer(string name, ElementType type, long[] shape, byte[] raw)
        => AddInitializer(name, type, shape, ByteString.CopyFrom(raw));

    private Value AddInitializer(string name, ElementType type, long[] shape, ByteString raw)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = raw };
        tensor.Dims.AddRange(shape);
        _graph.Initializer.Add(tensor);
        return new Value(name, type, shape, RequiresGrad: false);
    }

    private byte[] FloatBytes(double[] values) => FloatType == ElementType.Double
        ? MemoryMarshal.AsBytes(values.AsSpan()).ToArray()
        : MemoryMarshal.AsBytes(values.Select(v => (float)v).ToArray().AsSpan()).ToArray();

    private static ValueInfoProto ValueInfo(string name, ElementType type, long[] shape, string[]? dimNames)
    {
        var tensorShape = new TensorShapeProto();
        for (var i = 0; i < shape.Length; i++)
        {
            tensorShape.Dim.Add(shape[i] >= 0
                ? new TensorShapeProto.Types.Dimension { DimValue = shape[i] }
                : new TensorShapeProto.Types.Dimension { DimParam = dimNames?[i] ?? $"d{i}" });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = tensorShape } },
        };
    }
}

/// <summary>Attribute helpers for <see cref="NodeProto"/>.</summary>
public static class NodeAttributes
{
    public static NodeProto Int(this NodeProto node, string name, long value)
    {
        node.Attribute.Add(new AttributeProto { Name = name, I = value, Type = AttributeProto.Types.AttributeType.Int });
        return node;
    }

    public static NodeProto Float(this NodeProto node, string name, float value)
    {
        node.Attribute.Add(new AttributeProto { Name = name, F = value, Type = AttributeProto.Types.AttributeType.Float });
        return node;
    }

    public static NodeProto Ints(this NodeProto node, string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        node.Attribute.Add(attribute);
        return node;
    }

    public static NodeProto String(this NodeProto node, string name, string value)
    {
        node.Attribute.Add(new AttributeProto { Name = name, S = ByteString.CopyFromUtf8(value), Type = AttributeProto.Types.AttributeType.String });
        return node;
    }
}

using Distributed.Models.Graph;

namespace Distributed.Models.Autodiff;

/// <summary>
/// Reverse-mode differentiation over an <see cref="OnnxGraph"/>. Each differentiable op, when it
/// writes its forward node, records here how to write the gradient of its inputs given the gradient
/// of its output. <see cref="Backward"/> replays those rules in reverse order, emitting the gradient
/// computation as more ONNX nodes of the same graph.
/// </summary>
public sealed class Tape(OnnxGraph graph)
{
    private readonly List<(Value[] Outputs, Action<Value?[]> Backward)> _entries = [];
    private Dictionary<string, Value>? _gradients;

    /// <summary>True while <see cref="Backward"/> writes gradient nodes; they are not themselves recorded.</summary>
    public bool InBackward => _gradients is not null;

    /// <summary>Records the backward rule of an op whose output is <paramref name="output"/>.</summary>
    public void Record(Value output, Action<Value> backward)
        => Record([output], dys => backward(dys[0]!));

    /// <summary>
    /// Records the backward rule of an op with several outputs; it runs once, with a null gradient
    /// for any output that did not reach the loss, when at least one output did.
    /// </summary>
    public void Record(Value[] outputs, Action<Value?[]> backward)
    {
        if (outputs.Any(o => o.RequiresGrad) && !InBackward)
        {
            _entries.Add((outputs, backward));
        }
    }

    /// <summary>
    /// Writes the gradient of scalar <paramref name="loss"/> with respect to each of
    /// <paramref name="wrt"/> and returns them in the same order (zeros for an unused value).
    /// </summary>
    public IReadOnlyList<Value> Backward(Value loss, IReadOnlyList<Value> wrt)
    {
        if (loss.Count != 1)
        {
            throw new ArgumentException($"Backward starts from a scalar loss, not {loss}.", nameof(loss));
        }
        _gradients = new Dictionary<string, Value> { [loss.Name] = graph.Scalar(1.0) };
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            var (outputs, backward) = _entries[i];
            var dys = outputs.Select(o => _gradients.GetValueOrDefault(o.Name)).ToArray();
            if (dys.Any(d => d is not null))
            {
                backward(dys);
            }
        }
        var result = wrt.Select(w => _gradients.TryGetValue(w.Name, out var g)
            ? g
            : Ops.ZerosLike(graph, w)).ToList();
        _gradients = null;
        return result;
    }

    /// <summary>
    /// Adds the gradient that <paramref name="gradient"/> writes to what <paramref name="input"/> has received
    /// so far. The nodes are written only when <paramref name="input"/> needs a gradient, so no rule leaves
    /// unused work (say, the gradient of a constant mask) in the graph.
    /// </summary>
    public void Accumulate(Value input, Func<Value> gradient)
    {
        if (!input.RequiresGrad)
        {
            return;
        }
        if (_gradients is null)
        {
            throw new InvalidOperationException("Gradients are only accumulated during Backward.");
        }
        Add(input, gradient());
    }

    private void Add(Value input, Value gradient)
    {
        if (!gradient.Shape.SequenceEqual(input.Shape))
        {
            throw new InvalidOperationException($"Gradient {gradient} does not match the shape of {input}.");
        }
        _gradients![input.Name] = _gradients.TryGetValue(input.Name, out var sum)
            ? Ops.Add(graph, sum, gradient)
            : gradient;
    }
}

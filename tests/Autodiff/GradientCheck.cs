using Distributed.Models.Autodiff;
using Distributed.Models.Graph;
using Distributed.Models;

namespace Distributed.Tests.Autodiff;

/// <summary>
/// Checks a differentiable float64 graph against central finite differences: the loss is
/// sum(f(inputs) * R) for a fixed random R, so every output element gets its own upstream gradient.
/// </summary>
internal static class GradientCheck
{
    public sealed record Input(string Name, long[] Shape, double[] Data, bool Differentiable = true);

    /// <summary>Largest |analytic - numeric| over every element of every differentiable input, relative to max(1, |grad|).</summary>
    public static double MaxRelativeError(IReadOnlyList<Input> inputs, Func<OnnxGraph, IReadOnlyList<Value>, Value> f,
        IReadOnlyList<(string Name, long[] Data, long[] Shape)>? intInputs = null, double step = 1e-6, int seed = 7)
    {
        var g = new OnnxGraph(ElementType.Double, "gradient_check");
        var values = inputs.Select(i => g.Input(i.Name, ElementType.Double, i.Shape, i.Differentiable)).ToList();
        var ints = (intInputs ?? []).Select(i => g.Input(i.Name, ElementType.Int64, i.Shape)).ToList();
        var y = f(g, [.. values, .. ints]);
        var rng = new Rng(seed);
        var weights = Enumerable.Range(0, (int)y.Count).Select(_ => rng.NextGaussian()).ToArray();
        var flat = g.Reshape(y, [1, -1]);
        var loss = g.Reshape(g.MatMul(flat, g.FloatConstant(weights, [y.Count, 1])), []);
        g.Output(loss, "loss");
        var differentiable = values.Where(v => v.RequiresGrad).ToList();
        var grads = g.Tape.Backward(loss, differentiable);
        for (var i = 0; i < grads.Count; i++)
        {
            g.Output(grads[i], "grad_" + differentiable[i].Name);
        }

        using var runner = new GraphRunner(g.ToBytes());
        var feed = inputs.ToDictionary(i => i.Name, i => ((Array)i.Data, i.Shape));
        foreach (var (name, data, shape) in intInputs ?? [])
        {
            feed[name] = (data, shape);
        }
        var outputs = runner.Run(feed, ["loss", .. differentiable.Select(v => "grad_" + v.Name)]);
        var worst = 0.0;
        foreach (var input in inputs.Where(i => i.Differentiable))
        {
            var analytic = outputs["grad_" + input.Name];
            var scale = Math.Max(1.0, analytic.Max(Math.Abs));
            for (var k = 0; k < input.Data.Length; k++)
            {
                var original = input.Data[k];
                input.Data[k] = original + step;
                var plus = runner.Run(feed, ["loss"])["loss"][0];
                input.Data[k] = original - step;
                var minus = runner.Run(feed, ["loss"])["loss"][0];
                input.Data[k] = original;
                var numeric = (plus - minus) / (2 * step);
                worst = Math.Max(worst, Math.Abs(numeric - analytic[k]) / scale);
            }
        }
        return worst;
    }

    public static double[] Random(int count, int seed, double scale = 1.0)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, count).Select(_ => rng.NextGaussian() * scale).ToArray();
    }
}

using System.Numerics;
using Distributed.Models.Gpt;

namespace Distributed.Models.Training;

/// <summary>
/// AdamW (Loshchilov and Hutter) with decoupled weight decay, as torch.optim.AdamW computes it:
///   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
///   p = p (1 - lr wd) - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
/// One fused SIMD pass over the flat buffers per step: the moments mirror the parameter layout.
/// </summary>
public sealed class AdamW(GptConfig config, ParameterLayout layout) : Optimizer(config)
{
    private const float Epsilon = 1e-8f;

    public FlatBuffer FirstMoment { get; } = new(layout);

    public FlatBuffer SecondMoment { get; } = new(layout);

    public override void Step(FlatBuffer parameters, FlatBuffer gradients, double learningRate) => Step(parameters, gradients, learningRate, 1f);

    public override void Step(FlatBuffer parameters, FlatBuffer gradients, double learningRate, float gradientScale)
    {
        Steps++;
        var b1 = (float)Config.Beta1;
        var b2 = (float)Config.Beta2;
        var stepSize = (float)(learningRate / (1 - Math.Pow(Config.Beta1, Steps)));
        var rootCorrection2 = (float)(1.0 / Math.Sqrt(1 - Math.Pow(Config.Beta2, Steps)));
        var views = parameters.Layout.Views;
        for (var i = 0; i < views.Count; i++)   // not foreach: an interface enumerator would allocate every step
        {
            var view = views[i];
            var decay = view.Decays ? (float)(1.0 - learningRate * Config.WeightDecay) : 1f;
            Update(parameters[view], gradients[view], FirstMoment[view], SecondMoment[view],
                b1, b2, stepSize, rootCorrection2, decay, gradientScale);
        }
    }

    public override IReadOnlyList<(string Name, FlatBuffer Buffer)> Buffers => [("exp_avg", FirstMoment), ("exp_avg_sq", SecondMoment)];

    private static void Update(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
        float b1, float b2, float stepSize, float rootCorrection2, float decay, float scale)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var width = Vector<float>.Count;
            var (vb1, vb2, vc1, vc2) = (new Vector<float>(b1), new Vector<float>(b2), new Vector<float>(1 - b1), new Vector<float>(1 - b2));
            var (vStep, vRoot, vDecay, vEps) = (new Vector<float>(stepSize), new Vector<float>(rootCorrection2), new Vector<float>(decay), new Vector<float>(Epsilon));
            var vScale = new Vector<float>(scale);
            for (; i <= p.Length - width; i += width)
            {
                var gi = new Vector<float>(g[i..]) * vScale;
                var mi = vb1 * new Vector<float>(m[i..]) + vc1 * gi;
                var vi = vb2 * new Vector<float>(v[i..]) + vc2 * gi * gi;
                var pi = new Vector<float>(p[i..]) * vDecay - vStep * mi / (Vector.SquareRoot(vi) * vRoot + vEps);
                mi.CopyTo(m[i..]);
                vi.CopyTo(v[i..]);
                pi.CopyTo(p[i..]);
            }
        }
        for (; i < p.Length; i++)
        {
            var gi = g[i] * scale;
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            p[i] = p[i] * decay - stepSize * m[i] / (MathF.Sqrt(v[i]) * rootCorrection2 + Epsilon);
        }
    }
}

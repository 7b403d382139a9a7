using Distributed.Models.Graph;

namespace Distributed.Models.Autodiff;

public static partial class Ops
{
    public const double LayerNormEpsilon = 1e-5;

    // ---- LayerNorm over the last axis: y = xhat * gamma + beta, xhat = (x - mean) * rstd
    //   dgamma = sum(dy * xhat), dbeta = sum(dy)       (over every axis but the last)
    //   dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),  dxhat = dy * gamma
    // The forward kernel (LayerNormalization-17) also returns mean and rstd, saved for the backward
    // as llm.c's layernorm_forward does. They come out as float32 even in a float64 graph.
    // A null beta is LayerNorm without a bias (bias: false).
    public static Value LayerNorm(this OnnxGraph g, Value x, Value gamma, Value? beta)
    {
        var y = new Value(g.NewName("layernorm"), x.Type, x.Shape, x.RequiresGrad || gamma.RequiresGrad || beta?.RequiresGrad == true);
        var statsShape = x.Shape[..^1].Append(1).ToArray();
        var mean = new Value(g.NewName("ln_mean"), ElementType.Float, statsShape, false);
        var rstd = new Value(g.NewName("ln_rstd"), ElementType.Float, statsShape, false);
        g.Node("LayerNormalization", beta is null ? [x, gamma] : [x, gamma, beta], [y.Name, mean.Name, rstd.Name])
            .Int("axis", -1).Float("epsilon", (float)LayerNormEpsilon);
        g.Tape.Record(y, dy =>
        {
            var (m, r) = (g.CastToGraphType(mean), g.CastToGraphType(rstd));
            var xhat = g.Mul(g.Sub(x, m), r);
            var batchAxes = BatchAxes(x);
            g.Tape.Accumulate(gamma, () => g.ReduceSum(g.Mul(dy, xhat), batchAxes, keepDims: false));
            if (beta is not null)
            {
                g.Tape.Accumulate(beta, () => g.ReduceSum(dy, batchAxes, keepDims: false));
            }
            g.Tape.Accumulate(x, () =>
            {
                var dxhat = g.Mul(dy, gamma);
                var centered = g.Sub(dxhat, g.ReduceMean(dxhat, [-1], keepDims: true));
                var projection = g.Mul(xhat, g.ReduceMean(g.Mul(dxhat, xhat), [-1], keepDims: true));
                return g.Mul(g.Sub(centered, projection), r);
            });
        });
        return y;
    }

    /// <summary>LLaMA's rms_norm_eps.</summary>
    public const double RmsNormEpsilon = 1e-6;

    // ---- RMSNorm over the last axis (LLaMA): y = xhat * gamma, xhat = x * rstd, rstd = 1 / sqrt(mean(x^2) + eps)
    //   dgamma = sum(dy * xhat)                         (over every axis but the last)
    //   dx = rstd * (dxhat - xhat * mean(dxhat * xhat)),  dxhat = dy * gamma
    // LayerNorm without the centring, so the same rule without its mean term. The forward kernel is
    // ONNX Runtime's SimplifiedLayerNormalization (registered in the default domain); like
    // LayerNormalization it returns rstd, as float32 even in a float64 graph.
    public static Value RmsNorm(this OnnxGraph g, Value x, Value gamma)
    {
        var y = new Value(g.NewName("rmsnorm"), x.Type, x.Shape, x.RequiresGrad || gamma.RequiresGrad);
        var rstd = new Value(g.NewName("rms_rstd"), ElementType.Float, [.. x.Shape[..^1], 1], false);
        g.Node("SimplifiedLayerNormalization", [x, gamma], [y.Name, rstd.Name])
            .Int("axis", -1).Float("epsilon", (float)RmsNormEpsilon);
        g.Tape.Record(y, dy =>
        {
            var r = g.CastToGraphType(rstd);
            var xhat = g.Mul(x, r);
            g.Tape.Accumulate(gamma, () => g.ReduceSum(g.Mul(dy, xhat), BatchAxes(x), keepDims: false));
            g.Tape.Accumulate(x, () =>
            {
                var dxhat = g.Mul(dy, gamma);
                var projection = g.Mul(xhat, g.ReduceMean(g.Mul(dxhat, xhat), [-1], keepDims: true));
                return g.Mul(g.Sub(dxhat, projection), r);
            });
        });
        return y;
    }

    /// <summary>Every axis but the last: what a per-feature gain's gradient sums over.</summary>
    private static long[] BatchAxes(Value x) => Enumerable.Range(0, x.Rank - 1).Select(i => (long)i).ToArray();

    /// <summary>Casts a float32 tensor to the graph's float type (a no-op in float32 graphs).</summary>
    public static Value CastToGraphType(this OnnxGraph g, Value x)
        => x.Type == g.FloatType ? x : g.Op("Cast", [x], g.FloatType, x.Shape, n => n.Int("to", (long)g.FloatType));

    // ---- Softmax over the last axis: dx = y * (dy - sum(dy * y))
    public static Value Softmax(this OnnxGraph g, Value x)
    {
        var y = g.Op("Softmax", [x], x.Type, x.Shape, n => n.Int("axis", -1));
        g.Tape.Record(y, dy =>
            g.Tape.Accumulate(x, () => g.Mul(y, g.Sub(dy, g.ReduceSum(g.Mul(dy, y), [-1], keepDims: true)))));
        return y;
    }
}

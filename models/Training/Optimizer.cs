using System.Numerics.Tensors;
using Distributed.Models.Gpt;

namespace Distributed.Models.Training;

/// <summary>
/// Updates the flat parameter buffer from the flat gradient buffer. Both optimizers decay only
/// matrices (embeddings and weights), never biases or LayerNorm gains, as nanoGPT does.
/// </summary>
public abstract class Optimizer
{
    protected Optimizer(GptConfig config) => Config = config;

    protected GptConfig Config { get; }

    /// <summary>Optimizer steps taken so far (AdamW's bias correction needs it).</summary>
    public long Steps { get; protected set; }

    /// <summary>
    /// One step with the gradients times <paramref name="gradientScale"/> (the clip). The base scales the
    /// buffer in place first; AdamW folds the scale into its one pass instead, saving a pass over the
    /// gradients (the same float products either way).
    /// </summary>
    public virtual void Step(FlatBuffer parameters, FlatBuffer gradients, double learningRate, float gradientScale)
    {
        Scale(gradients, gradientScale);
        Step(parameters, gradients, learningRate);
    }

    public abstract void Step(FlatBuffer parameters, FlatBuffer gradients, double learningRate);

    /// <summary>The optimizer's state: whole flat buffers over the parameter layout, by name (AdamW's moments).</summary>
    public abstract IReadOnlyList<(string Name, FlatBuffer Buffer)> Buffers { get; }

    /// <summary>The state as named tensors to checkpoint ("exp_avg.h.0.attn.c_attn.weight"), views into the live buffers.</summary>
    public IEnumerable<(string Name, ParameterView View, FlatBuffer Buffer)> State() => NamedViews(Buffers);

    /// <summary>Each tensor of each buffer, named "buffer.tensor".</summary>
    public static IEnumerable<(string Name, ParameterView View, FlatBuffer Buffer)> NamedViews(IEnumerable<(string Name, FlatBuffer Buffer)> buffers)
        => buffers.SelectMany(b => b.Buffer.Layout.Views.Select(v => ($"{b.Name}.{v.Name}", v, b.Buffer)));

    public void RestoreSteps(long steps) => Steps = steps;

    public static Optimizer Create(GptConfig config, ParameterLayout layout) => config.Optimizer switch
    {
        OptimizerKind.AdamW => new AdamW(config, layout),
        OptimizerKind.Sgd => new Sgd(config),
        _ => throw new ArgumentOutOfRangeException(nameof(config), config.Optimizer, "Unknown optimizer."),
    };

    /// <summary>
    /// The factor that brings the gradients' global L2 norm down to <paramref name="maxNorm"/> (as
    /// torch.nn.utils.clip_grad_norm_), or 1 when it is already below or clipping is off (0).
    /// </summary>
    public static float ClipScale(FlatBuffer gradients, double maxNorm) => ClipScaleOf(SumOfSquares(gradients.Data), maxNorm);

    /// <summary><see cref="ClipScale(FlatBuffer, double)"/> from the gradients' sum of squares, when it was summed on the way (the all-reduce does).</summary>
    public static float ClipScaleOf(double sumOfSquares, double maxNorm)
    {
        var norm = Math.Sqrt(sumOfSquares);
        return maxNorm > 0 && norm > maxNorm ? (float)(maxNorm / (norm + 1e-6)) : 1f;
    }

    /// <summary>Multiplies every gradient by <paramref name="scale"/> (nothing to do for 1).</summary>
    public static void Scale(FlatBuffer gradients, float scale)
    {
        if (scale != 1f)
        {
            TensorPrimitives.Multiply(gradients.Data, scale, gradients.Data);
        }
    }

    /// <summary>Sum of squares accumulated in double over float32 chunks, so large models stay accurate.</summary>
    public static double SumOfSquares(ReadOnlySpan<float> values)
    {
        const int chunk = 1 << 14;
        var total = 0.0;
        for (var i = 0; i < values.Length; i += chunk)
        {
            total += TensorPrimitives.SumOfSquares(values.Slice(i, Math.Min(chunk, values.Length - i)));
        }
        return total;
    }
}

/// <summary>Stochastic gradient descent: W &lt;- W - lr * dL/dW (minus lr * weight_decay * W for matrices).</summary>
public sealed class Sgd(GptConfig config) : Optimizer(config)
{
    public override void Step(FlatBuffer parameters, FlatBuffer gradients, double learningRate)
    {
        var decay = (float)(1.0 - learningRate * Config.WeightDecay);
        var views = parameters.Layout.Views;
        for (var i = 0; i < views.Count; i++)   // not foreach: an interface enumerator would allocate every step
        {
            var view = views[i];
            var p = parameters[view];
            if (view.Decays && Config.WeightDecay > 0)
            {
                TensorPrimitives.Multiply(p, decay, p);
            }
            TensorPrimitives.MultiplyAdd(gradients[view], (float)-learningRate, p, p);
        }
        Steps++;
    }

    public override IReadOnlyList<(string Name, FlatBuffer Buffer)> Buffers => [];
}

using Distributed.Models.Gpt;

namespace Distributed.Models.Training;

/// <summary>
/// One copy of the model's trainable state: parameters, a gradient buffer and the optimizer, all over
/// the same flat layout. The single-process trainer owns one; the coordinator keeps one as the run's
/// authoritative replica; each worker keeps one in step with it.
/// </summary>
public sealed class ModelReplica
{
    public ModelReplica(GptConfig config)
    {
        Config = config;
        Layout = new ParameterLayout(config);
        Parameters = new FlatBuffer(Layout);
        Gradients = new FlatBuffer(Layout);
        Parameters.InitializeGpt2(config.NumLayers, new Rng(config.Seed));
        Optimizer = Optimizer.Create(config, Layout);
    }

    public GptConfig Config { get; }

    public ParameterLayout Layout { get; }

    public FlatBuffer Parameters { get; }

    public FlatBuffer Gradients { get; }

    public Optimizer Optimizer { get; }

    /// <summary>Everything a replica must share to be in step with another: parameters, then the optimizer's buffers.</summary>
    public IEnumerable<(string Name, FlatBuffer Buffer)> StateBuffers => [("parameters", Parameters), .. Optimizer.Buffers];

    /// <summary>Takes one optimizer step with the gradient in <see cref="Gradients"/> clipped by <paramref name="clipScale"/> (the buffer may be left unscaled).</summary>
    public void Apply(float clipScale, double learningRate)
    {
        Optimizer.Step(Parameters, Gradients, learningRate, clipScale);
    }
}

using Distributed.Models.Gpt;

namespace Distributed.Models.Training;

/// <summary>
/// One copy of the model's trainable state: parameters, a gradient buffer and the optimizer, all over
/// the same flat layout. The single-process trainer owns one; each worker keeps one in step with the
/// others'; the coordinator keeps one as its copy of the run's state, loaded from a worker's when needed.
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

    /// <summary>The name of the parameters among <see cref="StateBuffers"/>.</summary>
    public const string ParametersName = "parameters";

    /// <summary>Everything a replica must share to be in step with another: parameters, then the optimizer's buffers.</summary>
    public IEnumerable<(string Name, FlatBuffer Buffer)> StateBuffers => [(ParametersName, Parameters), .. Optimizer.Buffers];

    /// <summary>Takes another replica's state (<paramref name="steps"/> optimizer steps in) in place: sessions over these buffers see it.</summary>
    public void Load(ReplicaSnapshot state, long steps)
    {
        foreach (var ((_, from), (_, to)) in state.StateBuffers.Zip(StateBuffers))
        {
            from.Data.CopyTo(to.Data, 0);
        }
        Optimizer.RestoreSteps(steps);
    }

    /// <summary>Takes one optimizer step with the gradient in <see cref="Gradients"/> clipped by <paramref name="clipScale"/> (the buffer may be left unscaled).</summary>
    public void Apply(float clipScale, double learningRate)
    {
        Optimizer.Step(Parameters, Gradients, learningRate, clipScale);
    }
}

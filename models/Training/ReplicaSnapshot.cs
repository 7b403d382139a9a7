using Distributed.Models.Gpt;

namespace Distributed.Models.Training;

/// <summary>
/// A replica's checkpointed state at one moment: its parameters and optimizer buffers.
/// <see cref="Of"/> views the live buffers (for a caller that waits for the write, like the
/// single-process trainer); <see cref="Copy"/> copies them, so a writer can save while training goes on;
/// <see cref="Blank"/> is one to fill with a state that arrives from another process.
/// </summary>
public sealed class ReplicaSnapshot
{
    private ReplicaSnapshot(GptConfig config, FlatBuffer parameters, IReadOnlyList<(string Name, FlatBuffer Buffer)> optimizerBuffers)
        => (Config, Parameters, OptimizerBuffers) = (config, parameters, optimizerBuffers);

    public GptConfig Config { get; }

    public FlatBuffer Parameters { get; }

    public IReadOnlyList<(string Name, FlatBuffer Buffer)> OptimizerBuffers { get; }

    /// <summary>The optimizer buffers as named tensors, as <see cref="Optimizer.State"/> names them.</summary>
    public IEnumerable<(string Name, ParameterView View, FlatBuffer Buffer)> OptimizerState => Optimizer.NamedViews(OptimizerBuffers);

    /// <summary>Parameters, then the optimizer's buffers, named as <see cref="ModelReplica.StateBuffers"/> names them.</summary>
    public IEnumerable<(string Name, FlatBuffer Buffer)> StateBuffers => [(ModelReplica.ParametersName, Parameters), .. OptimizerBuffers];

    public static ReplicaSnapshot Of(ModelReplica replica) => new(replica.Config, replica.Parameters, replica.Optimizer.Buffers);

    public static ReplicaSnapshot Copy(ModelReplica replica)
        => new(replica.Config, Clone(replica.Parameters), replica.Optimizer.Buffers.Select(b => (b.Name, Clone(b.Buffer))).ToList());

    /// <summary>Zeroed buffers shaped as <paramref name="replica"/>'s state, to be filled (a state arriving from elsewhere).</summary>
    public static ReplicaSnapshot Blank(ModelReplica replica)
        => new(replica.Config, new FlatBuffer(replica.Layout), replica.Optimizer.Buffers.Select(b => (b.Name, new FlatBuffer(b.Buffer.Layout))).ToList());

    private static FlatBuffer Clone(FlatBuffer source)
    {
        var copy = new FlatBuffer(source.Layout);
        source.Data.CopyTo(copy.Data, 0);
        return copy;
    }
}

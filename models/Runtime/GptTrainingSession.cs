using Distributed.Models.Gpt;

namespace Distributed.Models.Runtime;

/// <summary>
/// The training graph for one batch size, bound to the flat parameter and gradient buffers:
/// <see cref="ComputeGradients"/> reads the current parameters and the batch in
/// <see cref="Inputs"/>/<see cref="Targets"/> and writes every gradient into <see cref="Gradients"/>.
/// </summary>
public sealed class GptTrainingSession : IDisposable
{
    private readonly BoundSession _session;
    private readonly float[] _loss = GC.AllocateArray<float>(1, pinned: true);
    private readonly float[][] _masks;
    private readonly double _dropout;

    public GptTrainingSession(GptConfig config, FlatBuffer parameters, FlatBuffer gradients, int threads, bool spinWait = false)
    {
        var graph = GptGraphs.Training(config, config.BatchSize);
        _dropout = config.Dropout;
        Gradients = gradients;
        var shape = new long[] { config.BatchSize, config.MaxSequenceLength };
        Inputs = GC.AllocateArray<long>(config.BatchSize * config.MaxSequenceLength, pinned: true);
        Targets = GC.AllocateArray<long>(Inputs.Length, pinned: true);
        _masks = graph.DropoutMasks.Select(m => GC.AllocateArray<float>((int)m.Count, pinned: true)).ToArray();

        _session = new BoundSession(graph.Model, threads, spinWait);
        try
        {
            foreach (var view in parameters.Layout.Views)
            {
                _session.BindInput(view.Name, parameters.MemoryOf(view), view.LongShape);
                _session.BindOutput(TrainingGraph.GradientOf(view.Name), gradients.MemoryOf(view), view.LongShape);
            }
            _session.BindInput(TrainingGraph.Ids, Inputs.AsMemory(), shape);
            _session.BindInput(TrainingGraph.Targets, Targets.AsMemory(), shape);
            for (var i = 0; i < _masks.Length; i++)
            {
                _session.BindInput(graph.DropoutMasks[i].Name, _masks[i].AsMemory(), graph.DropoutMasks[i].Shape);
            }
            _session.BindOutput(TrainingGraph.Loss, _loss.AsMemory(), []);
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    /// <summary>Token ids [batch, T] of the next batch; fill before <see cref="ComputeGradients"/>.</summary>
    public long[] Inputs { get; }

    /// <summary>Next-token targets [batch, T].</summary>
    public long[] Targets { get; }

    public FlatBuffer Gradients { get; }

    /// <summary>Runs forward and backward; returns the batch's mean loss. Dropout masks come from <paramref name="rng"/>.</summary>
    public float ComputeGradients(Rng rng)
    {
        foreach (var mask in _masks)
        {
            DropoutMasks.Draw(mask, _dropout, rng);
        }
        _session.Run();
        return _loss[0];
    }

    public void Dispose() => _session.Dispose();
}

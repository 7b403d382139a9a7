using System.Numerics.Tensors;
using Distributed.Models.DataParallel;
using Distributed.Models.Gpt;
using Distributed.Models.Runtime;

namespace Distributed.Models.Training;

/// <summary>
/// One rank's gradient of one optimizer step, computed as the layout's k micro-batches (grad_accum_steps)
/// through a training graph sized for one micro-batch of m windows, so activations need memory for m
/// sequences rather than k*m. Every micro-batch's mean gradient is added with weight 1/k, which leaves
/// the mean gradient over all the rank's k*m windows of the step in the replica's gradient buffer, the
/// same as one batch of k*m would (up to float rounding). Dropout masks are drawn from the caller's
/// generator, micro-batch after micro-batch, so a run stays deterministic. With k = 1 the graph writes
/// straight into the replica's buffer.
/// </summary>
public sealed class GradientAccumulation : IDisposable
{
    private readonly GptTrainingSession _session;
    private readonly FlatBuffer _gradients;
    private readonly FlatBuffer? _microGradients;   // k > 1: one micro-batch's mean gradient, before it is added in
    private readonly int _microBatches;

    /// <param name="microBatch">m: windows per micro-batch (<see cref="DataParallelLayout.MicroBatchOf"/> of the rank).</param>
    public GradientAccumulation(GptConfig config, ModelReplica replica, int microBatch, int threads, bool spinWait = false)
    {
        (_gradients, _microBatches, MicroBatch) = (replica.Gradients, config.GradAccumSteps, microBatch);
        _microGradients = _microBatches > 1 ? new FlatBuffer(replica.Layout) : null;
        _session = new GptTrainingSession(config with { BatchSize = microBatch }, replica.Parameters, _microGradients ?? replica.Gradients, threads, spinWait);
    }

    /// <summary>m: the windows of one micro-batch, the training graph's batch size.</summary>
    public int MicroBatch { get; }

    /// <summary>
    /// Runs rank <paramref name="rank"/>'s windows of one step (<paramref name="stepWindows"/>, indices into
    /// <paramref name="source"/>, as the layout cut them) and leaves their mean gradient in the replica's
    /// gradient buffer; returns their mean loss.
    /// </summary>
    public float ComputeGradients(DataParallelLayout layout, int rank, IWindowSource source, ReadOnlySpan<int> stepWindows, Rng rng)
    {
        if (layout.MicroBatches != _microBatches || layout.MicroBatchOf(rank) != MicroBatch)
        {
            throw new ArgumentException(
                $"This session runs {_microBatches} micro-batches of {MicroBatch} windows, but rank {rank}'s layout has {layout.MicroBatches} of {layout.MicroBatchOf(rank)}.",
                nameof(layout));
        }
        var weight = 1f / _microBatches;
        var loss = 0.0;
        for (var micro = 0; micro < _microBatches; micro++)
        {
            source.Fill(layout.MicroBatchWindows(stepWindows, rank, micro), _session.Inputs, _session.Targets);
            loss += _session.ComputeGradients(rng);
            if (_microGradients is null)
            {
                continue;
            }
            if (micro == 0)
            {
                TensorPrimitives.Multiply(_microGradients.Data, weight, _gradients.Data);
            }
            else
            {
                TensorPrimitives.MultiplyAdd(_microGradients.Data, weight, _gradients.Data, _gradients.Data);
            }
        }
        return (float)(loss / _microBatches);
    }

    public void Dispose() => _session.Dispose();
}

namespace Distributed.Coordinator.Distributed;

/// <summary>One optimizer step as the run closed it.</summary>
/// <param name="Step">Steps completed, this one included.</param>
/// <param name="Epoch">The epoch the next step belongs to.</param>
/// <param name="Loss">The step's global mean loss.</param>
/// <param name="Tokens">Tokens the step trained on (the global batch times the sequence length).</param>
public readonly record struct StepProgress(int Step, int Epoch, float Loss, double LearningRate, long Tokens);

/// <summary>
/// What the run tells its metrics as it happens, in its own terms (the exporter lives outside the state
/// machine: Metrics/RunMetrics). Called under the run's lock, or on its file writer's thread: an
/// implementation must only record, never block or call back into the run.
/// </summary>
public interface IRunMetrics
{
    void StepClosed(StepProgress progress);

    /// <summary>A gradient bucket of <paramref name="bytes"/> arrived over <paramref name="transport"/> (<see cref="IGradientLink.Transport"/>).</summary>
    void BucketReceived(string transport, int bytes);

    /// <summary>Rank <paramref name="rank"/> delivered its last bucket of the step, this long after the step began: a straggler shows here.</summary>
    void RankDelivered(int rank, TimeSpan sinceStepBegan);

    /// <summary>The step is reduced; a member on <paramref name="transport"/> had sent its first bucket this long before.</summary>
    void RankReduced(string transport, TimeSpan sinceFirstBucket);

    /// <summary>Workers joined and not dropped, after a join or a drop; <paramref name="lost"/>: this change dropped one from the running run.</summary>
    void WorkersChanged(int live, bool lost);

    void CheckpointWritten(TimeSpan took);
}

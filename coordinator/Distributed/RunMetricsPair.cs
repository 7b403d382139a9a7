namespace Distributed.Coordinator.Distributed;

/// <summary>Tells two <see cref="IRunMetrics"/> the same (the Prometheus metrics and the dashboard), in that order.</summary>
public sealed class RunMetricsPair(IRunMetrics first, IRunMetrics second) : IRunMetrics
{
    public void StepClosed(StepProgress progress)
    {
        first.StepClosed(progress);
        second.StepClosed(progress);
    }

    public void BucketReceived(string transport, int bytes)
    {
        first.BucketReceived(transport, bytes);
        second.BucketReceived(transport, bytes);
    }

    public void RankDelivered(int rank, TimeSpan sinceStepBegan)
    {
        first.RankDelivered(rank, sinceStepBegan);
        second.RankDelivered(rank, sinceStepBegan);
    }

    public void RankReduced(string transport, TimeSpan sinceFirstBucket)
    {
        first.RankReduced(transport, sinceFirstBucket);
        second.RankReduced(transport, sinceFirstBucket);
    }

    public void WorkersChanged(int live, bool lost)
    {
        first.WorkersChanged(live, lost);
        second.WorkersChanged(live, lost);
    }

    public void CheckpointWritten(TimeSpan took)
    {
        first.CheckpointWritten(took);
        second.CheckpointWritten(took);
    }
}

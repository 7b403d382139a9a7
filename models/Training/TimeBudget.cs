namespace Distributed.Models.Training;

/// <summary>
/// max_seconds, the time budget that lets sweeps compare trials at equal training time: a run stops
/// at the first evaluation (and checkpoint) after that many training seconds, or at its step budget
/// if that comes first. Only training steps count, not evaluation. The learning-rate schedule still
/// spans the step budget (<see cref="StepBudget"/>), so set max_steps near what the time allows for
/// the schedule to decay fully.
/// </summary>
public static class TimeBudget
{
    /// <summary>Checked at each evaluation: true when the run should stop there.</summary>
    public static bool IsSpent(GptConfig config, double trainingSeconds)
        => config.MaxSeconds > 0 && trainingSeconds >= config.MaxSeconds;
}

namespace Distributed.Models.Training;

/// <summary>A run's place in its schedule between two steps: optimizer steps done, and the epoch and batch the next step takes.</summary>
public readonly record struct SchedulePosition(int Step, int Epoch, int StepInEpoch);

/// <summary>
/// When a run evaluates, checkpoints, re-shards and stops, counted in optimizer steps. The
/// single-process trainer and the distributed run both follow it, so one config writes its
/// metrics.jsonl rows at the same steps with or without --workers.
/// </summary>
public sealed class StepSchedule
{
    public StepSchedule(GptConfig config, int stepsPerEpoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stepsPerEpoch);
        StepsPerEpoch = stepsPerEpoch;
        var epochs = config.NumEpochs * stepsPerEpoch;
        TotalSteps = config.MaxSteps > 0 ? Math.Min(config.MaxSteps, epochs) : epochs;
        EvalInterval = config.EvalInterval;
        MaxSeconds = config.MaxSeconds;
    }

    public int StepsPerEpoch { get; }

    /// <summary>num_epochs epochs of steps, cut at max_steps when that is set.</summary>
    public int TotalSteps { get; }

    public int EvalInterval { get; }

    /// <summary>max_seconds: a time budget in training seconds (0: none), so sweeps can compare trials at equal training time.</summary>
    public double MaxSeconds { get; }

    /// <summary>
    /// Whether the run scores the validation split and checkpoints once <paramref name="completedSteps"/>
    /// steps are done: every eval_interval steps, and after the last step.
    /// </summary>
    public bool EvaluatesAfter(int completedSteps) => completedSteps % EvalInterval == 0 || completedSteps == TotalSteps;

    public bool IsDone(SchedulePosition position) => position.Step >= TotalSteps;

    /// <summary>
    /// Asked at each evaluation: whether the time budget is spent, so the run stops there (with its
    /// checkpoint). Only training seconds count, not evaluation. The learning-rate schedule still spans
    /// <see cref="TotalSteps"/>, so set max_steps near what the time allows for it to decay fully.
    /// </summary>
    public bool TimeIsUp(double trainingSeconds) => MaxSeconds > 0 && trainingSeconds >= MaxSeconds;

    /// <summary>
    /// Steps from <paramref name="position"/> to the next boundary: an evaluation, the end of the epoch
    /// (where the data is reshuffled, and a distributed run re-shards), or the end of the run.
    /// </summary>
    public int StepsUntilBoundary(SchedulePosition position)
        => Math.Min(Math.Min(StepsPerEpoch - position.StepInEpoch, TotalSteps - position.Step), EvalInterval - position.Step % EvalInterval);

    /// <summary>
    /// Whether the run re-shuffles its data at <paramref name="position"/> (it is an epoch's first
    /// step); a distributed run then cuts new shards, in a new generation.
    /// </summary>
    public bool ReshardsAfter(SchedulePosition position) => position.StepInEpoch == 0 && position.Step > 0;

    /// <summary>The position after one more step; past an epoch's last step comes the next epoch's first.</summary>
    public SchedulePosition Advance(SchedulePosition position)
        => position.StepInEpoch + 1 == StepsPerEpoch
            ? new SchedulePosition(position.Step + 1, position.Epoch + 1, 0)
            : position with { Step = position.Step + 1, StepInEpoch = position.StepInEpoch + 1 };
}

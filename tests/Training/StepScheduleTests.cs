using Distributed.Models;
using Distributed.Models.Training;

namespace Distributed.Tests.Training;

public class StepScheduleTests
{
    private static StepSchedule Schedule(int maxSteps = 0, int epochs = 2, int evalInterval = 4)
        => new(new GptConfig { MaxSteps = maxSteps, NumEpochs = epochs, EvalInterval = evalInterval }, stepsPerEpoch: 10);

    [Fact]
    public void Evaluations_fall_every_eval_interval_and_after_the_last_step()
    {
        var schedule = Schedule();

        Assert.Equal(20, schedule.TotalSteps);
        Assert.Equal([4, 8, 12, 16, 20], Enumerable.Range(1, 20).Where(schedule.EvaluatesAfter));
    }

    [Fact]
    public void Max_steps_cuts_the_epochs_and_ends_with_an_evaluation()
    {
        var schedule = Schedule(maxSteps: 7);

        Assert.Equal(7, schedule.TotalSteps);
        Assert.Equal([4, 7], Enumerable.Range(1, 7).Where(schedule.EvaluatesAfter));
    }

    [Fact]
    public void Assignments_end_at_evaluations_epoch_ends_and_the_last_step()
    {
        var schedule = Schedule(maxSteps: 19);
        var boundaries = new List<int>();
        var position = new SchedulePosition(0, 0, 0);
        while (!schedule.IsDone(position))
        {
            var steps = schedule.StepsUntilBoundary(position);
            for (var i = 0; i < steps; i++)
            {
                position = schedule.Advance(position);
            }
            boundaries.Add(position.Step);
        }

        Assert.Equal([4, 8, 10, 12, 16, 19], boundaries);
        Assert.Equal(new SchedulePosition(19, 1, 9), position);
    }

    [Fact]
    public void The_step_after_an_epochs_last_is_the_next_epochs_first()
        => Assert.Equal(new SchedulePosition(10, 1, 0), Schedule().Advance(new SchedulePosition(9, 0, 9)));

    [Fact]
    public void A_time_budget_is_spent_only_when_set_and_reached()
    {
        var budget = new StepSchedule(new GptConfig { MaxSeconds = 30 }, stepsPerEpoch: 10);

        Assert.False(budget.TimeIsUp(29.9));
        Assert.True(budget.TimeIsUp(30));
        Assert.False(Schedule().TimeIsUp(1e9));
    }
}

using Distributed.Coordinator.Distributed;

namespace Distributed.Tests.Coordinator;

public class LivenessWatchTests
{
    [Fact]
    public void A_slow_wait_is_reported_once_it_is_much_longer_than_usual_and_again_as_it_doubles()
    {
        var watch = new LivenessWatch(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(300));
        for (var i = 0; i < 5; i++)
        {
            watch.Begin(WaitKind.Step, i * 2_000);
            watch.End(i * 2_000 + 2_000);   // steps take 2 s
        }

        watch.Begin(WaitKind.Step, 100_000);

        Assert.Null(watch.DueWarning(100_000 + 9_000));           // under 5 x 2 s
        Assert.Contains("usually 2.0 s", watch.DueWarning(100_000 + 10_500));
        Assert.Null(watch.DueWarning(100_000 + 20_000));          // next at twice the wait (21 s)
        Assert.NotNull(watch.DueWarning(100_000 + 21_500));
        Assert.False(watch.Overdue(100_000 + 299_000));
        Assert.True(watch.Overdue(100_000 + 301_000));
    }

    [Fact]
    public void The_first_wait_of_its_kind_is_reported_before_half_the_step_timeout()
    {
        var watch = new LivenessWatch(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(8));

        watch.Begin(WaitKind.Validation, 0);

        Assert.Null(watch.DueWarning(3_900));
        Assert.Contains("the first of its kind", watch.DueWarning(4_100));
    }

    [Fact]
    public void An_abandoned_wait_is_not_learned_and_never_overdue()
    {
        var watch = new LivenessWatch(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1));
        watch.Begin(WaitKind.Step, 0);

        watch.Abandon();

        Assert.False(watch.Overdue(60_000));
        Assert.Null(watch.DueWarning(60_000));
    }
}

using Distributed.Coordinator.Distributed;

namespace Distributed.Tests.Coordinator;

public class MembershipTests
{
    private static readonly TimeSpan Ready = TimeSpan.FromSeconds(2);

    [Theory]
    [InlineData(65, "worker_name must be 1 to 64 characters, not 65")]
    [InlineData(0, "worker_name must be 1 to 64 characters, not 0")]
    public void Names_are_bounded(int length, string problem)
    {
        var membership = new Membership(4, Ready);

        var (slot, refusal) = membership.Join(new string('x', length), "cpu", 0);

        Assert.Null(slot);
        Assert.Equal(RefusalKind.InvalidData, refusal!.Kind);
        Assert.Contains(problem, refusal.Message);
    }

    [Theory]
    [InlineData("evil\nLost rank 0")]
    [InlineData("worker\u202Egnp.exe")]   // a right-to-left override would rewrite the log line around it
    public void Control_and_formatting_characters_in_a_name_are_refused_and_never_logged_raw(string name)
    {
        var (_, refusal) = new Membership(4, Ready).Join(name, "cpu", 0);

        Assert.Contains("control or formatting characters", refusal!.Message);
        Assert.DoesNotContain('\n', refusal.Message);
        Assert.DoesNotContain('\u202E', refusal.Message);
    }

    [Fact]
    public void The_roster_is_bounded_and_a_dropped_worker_frees_its_place()
    {
        var membership = new Membership(2, Ready);
        var first = membership.Join("a", "cpu", 0).Slot!;
        membership.Join("b", "cpu", 0);

        var (_, full) = membership.Join("c", "cpu", 0);
        membership.Drop(first, "gone");
        var (again, _) = membership.Join("c", "cpu", 0);

        Assert.Equal(RefusalKind.Full, full!.Kind);
        Assert.NotNull(again);
        Assert.Same(first, membership.Find(first.Id));   // still known, so it can hear that it was dropped
    }

    [Fact]
    public void Dropped_workers_are_forgotten_after_later_drops()
    {
        var membership = new Membership(4, Ready);
        var first = membership.Join("a", "cpu", 0).Slot!;
        membership.Drop(first, "gone");

        for (var i = 0; i < Membership.RememberedDrops; i++)
        {
            membership.Drop(membership.Join($"w{i}", "cpu", 0).Slot!, "gone");
        }

        Assert.Null(membership.Find(first.Id));
        Assert.True(membership.AllGone);
    }

    [Fact]
    public void Only_workers_that_keep_asking_for_work_are_ready()
    {
        var membership = new Membership(4, Ready);
        var asking = membership.Join("asking", "cpu", 0).Slot!;
        var silent = membership.Join("silent", "cpu", 0).Slot!;
        asking.LastAsked = 10_000;

        Assert.Equal([asking], membership.Ready(now: 11_000));
        Assert.Empty(membership.Ready(now: 13_000));
        Assert.DoesNotContain(silent, membership.Ready(now: 10_500));
    }

    [Fact]
    public void A_secret_proves_only_its_own_worker()
    {
        var membership = new Membership(4, Ready);
        var a = membership.Join("a", "cpu", 0).Slot!;
        var b = membership.Join("b", "cpu", 0).Slot!;

        Assert.Same(a, membership.Authenticate(a.Id, a.Secret).Slot);
        Assert.Equal(RefusalKind.Unauthenticated, membership.Authenticate(a.Id, b.Secret).Refusal!.Kind);
        Assert.Equal(RefusalKind.Unauthenticated, membership.Authenticate(a.Id, null).Refusal!.Kind);
        Assert.NotEqual(a.Secret, b.Secret);
    }
}

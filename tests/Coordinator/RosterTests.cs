using Distributed.Coordinator.Distributed;

namespace Distributed.Tests.Coordinator;

/// <summary>The dashboard's workers table as the run reports it: who holds which rank, who waits, who was lost and why.</summary>
public sealed class RosterTests
{
    [Fact]
    public void Members_come_in_rank_order_then_the_waiting_then_the_lost_with_the_reason()
    {
        using var h = new RunHarness(workers: 2);
        var (a, b, c) = (h.Join("a"), h.Join("b"), h.Join("c"));
        h.AssignedBoth(a, b);
        Assert.Equal(AssignmentKind.Wait, h.Ask(c).Kind);   // the run has its two members

        Assert.Equal([("a", 0, "ok"), ("b", 1, "ok"), ("c", -1, "waiting")], h.Run.Roster().Select(w => (w.Name, w.Rank, w.Health)));

        h.Run.Leave(a, "stopped by its operator");

        // The waiting worker takes the lost one's place.
        Assert.Equal([("b", 0, "ok"), ("c", 1, "ok"), ("a", -1, "lost: left: stopped by its operator")],
            h.Run.Roster().Select(w => (w.Name, w.Rank, w.Health)));
    }
}

using Distributed.Models.Experiments;
using Distributed.Coordinator.Reports;

namespace Distributed.Tests.Reports;

public sealed class RankingTests
{
    [Fact]
    public void FinishedTrialsByBestLossThenUnrankedFailedAndPending()
    {
        var trials = new List<TrialResult>(SyntheticSweep.FourTrials())
        {
            SyntheticSweep.Trial(4, 1e-3, 2, "gelu", TrialStatus.Pending, null, null, null, 0, 4, 0.01, steps: 0),
            // Diverged: a NaN best loss is no measurement, so it ranks after every real one.
            SyntheticSweep.Trial(5, 1e-2, 2, "gelu", TrialStatus.StoppedEarly, "diverged", double.NaN, double.NaN, 5, 4, 0.01),
        };
        trials.Reverse();

        var ranked = TrialRanking.Rank(trials);

        Assert.Equal([2, 3, 0, 5, 1, 4], ranked.Select(r => r.Trial.Index));
        Assert.Equal([1, 2, 3, null, null, null], ranked.Select(r => r.Rank));
    }

    [Fact]
    public void TiesKeepTrialOrder()
    {
        var a = SyntheticSweep.Trial(7, 1e-3, 2, "gelu", TrialStatus.Completed, null, 1.5, 1.5, 1, 4, 0.01);
        var b = a with { Index = 3 };

        Assert.Equal([3, 7], TrialRanking.Rank([a, b]).Select(r => r.Trial.Index));
    }
}

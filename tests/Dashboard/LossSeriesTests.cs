using Distributed.Coordinator.Dashboard;

namespace Distributed.Tests.Dashboard;

/// <summary>A long run's loss curve stays a bounded number of points that still spans the whole run, evenly.</summary>
public sealed class LossSeriesTests
{
    [Fact]
    public void Every_point_is_kept_up_to_the_capacity()
    {
        var series = new LossSeries(8);
        for (var step = 1; step <= 8; step++)
        {
            series.Add(step, 10f / step);
        }
        var curve = series.Copy();
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], curve.Steps);
        Assert.Equal(10f / 3, curve.Losses[2]);
    }

    [Fact]
    public void A_run_far_longer_than_the_capacity_keeps_at_most_capacity_points_evenly_spaced_from_its_start_to_near_its_end()
    {
        var series = new LossSeries(64);
        for (var step = 1; step <= 100_000; step++)
        {
            series.Add(step, step);
            Assert.InRange(series.Count, 1, 64);
        }
        var curve = series.Copy();
        Assert.Equal(1, curve.Steps[0]);
        Assert.True(curve.Steps[^1] > 100_000 - 2 * 100_000 / 64, $"the last point is step {curve.Steps[^1]}");
        var gaps = curve.Steps.Zip(curve.Steps.Skip(1), (a, b) => b - a).Distinct().ToList();
        Assert.Single(gaps);
        Assert.Equal(curve.Steps.Select(s => (float)s), curve.Losses);   // each loss stays with its step
    }
}

using Distributed.Models.Search;

namespace Distributed.Tests.Search;

public sealed class EarlyStoppingTests
{
    private static readonly EarlyStopping Patience2 = new(2);

    [Theory]
    [InlineData(new double[0], false)]
    [InlineData(new[] { 3.0 }, false)]
    [InlineData(new[] { 3.0, 2.5, 2.0 }, false)]             // improving
    [InlineData(new[] { 3.0, 2.0, 2.1 }, false)]             // one evaluation without a new best
    [InlineData(new[] { 3.0, 2.0, 2.1, 2.2 }, true)]         // two: patience used up
    [InlineData(new[] { 3.0, 2.0, 2.0, 2.0 }, true)]         // equal is not better
    [InlineData(new[] { 3.0, 2.0, 2.1, 1.9 }, false)]        // a new best resets the count
    [InlineData(new[] { 3.0, 2.0, 2.1, 1.9, 1.95, 1.91 }, true)]
    [InlineData(new[] { 3.0, double.NaN, double.NaN }, true)] // diverged: NaN is never progress
    [InlineData(new[] { double.NaN, double.NaN }, true)]
    [InlineData(new[] { double.NaN, 3.0 }, false)]
    public void StopsWhenTheBestIsPatienceEvaluationsOld(double[] losses, bool stop) =>
        Assert.Equal(stop, Patience2.ShouldStop(losses));

    [Fact]
    public void PatienceMustBePositive() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStopping(0));
}

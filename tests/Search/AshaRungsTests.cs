using Distributed.Models.Search;

namespace Distributed.Tests.Search;

public sealed class AshaRungsTests
{
    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, null)]
    [InlineData(3, 1)]
    [InlineData(6, null)]
    [InlineData(9, 2)]
    [InlineData(27, 3)]
    public void RungsAreAtMinEvaluationsTimesPowersOfTheFactor(int evaluation, int? rung) =>
        Assert.Equal(rung, new AshaRungs(3, 1).RungOf(evaluation));

    [Theory]
    [InlineData(1, null)]
    [InlineData(2, 0)]
    [InlineData(4, 1)]
    [InlineData(6, null)]
    [InlineData(8, 2)]
    public void MinEvaluationsShiftsTheRungs(int evaluation, int? rung) =>
        Assert.Equal(rung, new AshaRungs(2, 2).RungOf(evaluation));

    [Fact]
    public void KeepsOnlyTheTopThirdOnceARungHasThreeValues()
    {
        var asha = new AshaRungs(3, 1);

        Assert.False(asha.ShouldStop(0, 1, 2.0));  // one value: nothing to compare with
        Assert.False(asha.ShouldStop(1, 1, 3.0));  // two
        Assert.True(asha.ShouldStop(2, 1, 4.0));   // three values, top 1: 2.0 only
        Assert.False(asha.ShouldStop(3, 1, 1.5));  // new best
        Assert.True(asha.ShouldStop(4, 1, 2.0));   // five values, top 1: 1.5
        Assert.False(asha.ShouldStop(5, 1, 1.0));  // six values, top 2: 1.0 and 1.5
        Assert.False(asha.ShouldStop(6, 1, 1.2));  // seven values, top 2: 1.0 and 1.2
    }

    [Fact]
    public void BetweenRungsTrialsGoOn()
    {
        var asha = new AshaRungs(3, 1);
        asha.ShouldStop(0, 1, 1.0);
        asha.ShouldStop(1, 1, 1.0);
        asha.ShouldStop(2, 1, 1.0);

        Assert.False(asha.ShouldStop(2, 2, 99.0));
    }

    [Fact]
    public void EachRungComparesOnlyItsOwnValues()
    {
        var asha = new AshaRungs(2, 1);
        Assert.False(asha.ShouldStop(0, 1, 1.0));
        Assert.True(asha.ShouldStop(1, 1, 2.0));   // rung 0: top 1 of 2 is 1.0

        Assert.False(asha.ShouldStop(0, 2, 0.8));  // rung 1 has one value
        Assert.False(asha.ShouldStop(2, 1, 0.5));  // rung 0: top 1 of 3 is 0.5
        Assert.False(asha.ShouldStop(2, 2, 0.4));  // rung 1: top 1 of 2 is 0.4
        Assert.True(asha.ShouldStop(3, 2, 0.9));   // rung 1: top 1 of 3 is 0.4
    }

    [Fact]
    public void TiesGoOnAndNaNRanksLast()
    {
        var asha = new AshaRungs(2, 1);
        asha.ShouldStop(0, 1, 1.0);

        Assert.False(asha.ShouldStop(1, 1, 1.0));
        Assert.True(asha.ShouldStop(2, 1, double.NaN));
    }

    [Fact]
    public void ARetriedTrialReplacesItsValueInsteadOfAddingOne()
    {
        var asha = new AshaRungs(3, 1);
        asha.ShouldStop(0, 1, 1.0);
        asha.ShouldStop(1, 1, 2.0);

        Assert.False(asha.ShouldStop(1, 1, 3.0));  // still two values at the rung
    }

    [Fact]
    public void ConcurrentTrialsRecordEveryValue()
    {
        var asha = new AshaRungs(4, 1);
        var stopped = new bool[400];

        Parallel.For(0, stopped.Length, trial => stopped[trial] = asha.ShouldStop(trial, 1, trial));

        // Whatever the arrival order, the best is never stopped: no value beats it. (The second best can be:
        // arriving fourth after the best, it is outside the top quarter of four.)
        Assert.False(stopped[0]);
        // Every value was recorded: with 401 values the top quarter is 100, and exactly the 100 values 0..99
        // beat 99.5; with 402 values, 99 values beat 98.5, one short. A lost value would flip one of these.
        Assert.True(asha.ShouldStop(2000, 1, 99.5));
        Assert.False(asha.ShouldStop(2001, 1, 98.5));
        Assert.True(asha.ShouldStop(1000, 1, 399.5));
        Assert.False(asha.ShouldStop(1001, 1, -1));
    }

    [Fact]
    public void SettingsAreChecked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AshaRungs(1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AshaRungs(3, 0));
    }
}

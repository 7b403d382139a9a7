using Distributed.Coordinator.Reports;

namespace Distributed.Tests.Reports;

public sealed class FieldAxisTests
{
    [Fact]
    public void PositiveValuesSpanningMoreThanADecadeGoOnALogAxis()
    {
        var axis = FieldAxis.For("learning_rate", [1e-4, 3e-3, 1e-3]);

        Assert.Equal(FieldAxisKind.Log, axis.Kind);
        Assert.Equal("learning_rate (log scale)", axis.Label);
        Assert.Equal(-3, axis.Position(1e-3), 12);
        Assert.Contains("1e-4", axis.Ticks!.Value.Labels);
        Assert.Contains("1e-3", axis.Ticks!.Value.Labels);
        // One style per axis: no "0.001" beside "3e-4".
        Assert.All(axis.Ticks!.Value.Labels, l => Assert.Contains("e-", l));
    }

    [Fact]
    public void NarrowOrSignedRangesStayLinear()
    {
        Assert.Equal(FieldAxisKind.Linear, FieldAxis.For("dropout", [0.0, 0.1, 0.2]).Kind);
        Assert.Equal(FieldAxisKind.Linear, FieldAxis.For("weight_decay", [0.01, 0.05]).Kind);
    }

    [Fact]
    public void IntegerFieldsTickAtTheValuesTried()
    {
        var axis = FieldAxis.For("n_layer", [2L, 4L, 6L, 4L]);

        Assert.Equal(FieldAxisKind.Linear, axis.Kind);
        Assert.Equal(["2", "4", "6"], axis.Ticks!.Value.Labels);
    }

    [Fact]
    public void TextFieldsAreCategoriesInSortedOrder()
    {
        var axis = FieldAxis.For("activation", ["relu", "gelu", "relu"]);

        Assert.Equal(FieldAxisKind.Categorical, axis.Kind);
        Assert.Equal(["gelu", "relu"], axis.Ticks!.Value.Labels);
        Assert.Equal(1, axis.Position("relu"));
    }

    [Theory]
    [InlineData(1, -4, false, "1e-4")]
    [InlineData(3, -3, false, "3e-3")]
    [InlineData(5, -2, true, "0.05")]
    [InlineData(2, 2, true, "200")]
    public void LogTickLabels(double mantissa, int exponent, bool plain, string expected) =>
        Assert.Equal(expected, LogTicks.Label(mantissa, exponent, plain));

    [Fact]
    public void LogTicksInTheEverydayRangeArePlainNumbers() =>
        Assert.Equal(["0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1"], LogTicks.For(0.01, 1).Labels);
}

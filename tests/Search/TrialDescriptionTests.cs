using System.Collections.ObjectModel;
using Distributed.Models;
using Distributed.Models.Search;

namespace Distributed.Tests.Search;

public sealed class TrialDescriptionTests
{
    private static string Describe(params (string Field, object Value)[] values) =>
        new TrialPlan(0, new ReadOnlyDictionary<string, object>(values.ToDictionary(v => v.Field, v => v.Value)), new GptConfig()).Describe();

    [Fact]
    public void SampledValuesAreShortAndSmallOnesUseExponents() =>
        Assert.Equal("learning_rate=3.1e-04 dropout=0.12 num_layers=3 activation=relu",
            Describe(("learning_rate", 0.000312345), ("dropout", 0.123456), ("num_layers", 3), ("activation", "relu")));

    [Theory]
    [InlineData(0.105, "0.105")]       // hand-written grid values show exactly...
    [InlineData(3e-4, "3.0e-04")]
    [InlineData(1.25e-4, "1.25e-04")]
    [InlineData(0.1, "0.1")]
    [InlineData(2.0, "2")]
    [InlineData(0.0, "0")]
    [InlineData(1234.5678, "1235")]    // ...while long fractions are cut
    [InlineData(250000.0, "2.5e+05")]
    public void NumbersUseTheFewestDigitsThatReadBackTheSame(double value, string text) =>
        Assert.Equal($"x={text}", Describe(("x", value)));
}

namespace Distributed.Tests.Search;

/// <summary>Each mistake in "space" is refused before anything starts, naming the field, the value and the fix.</summary>
public sealed class SpaceValidationTests : IDisposable
{
    private readonly SweepFile _files = new();

    public void Dispose() => _files.Dispose();

    private string Fails(string strategy, string space)
    {
        var trials = strategy == "random" ? "\"trials\": 4," : "";
        var (problems, source) = _files.Fails($$"""{ "strategy": "{{strategy}}", {{trials}} "space": {{space}} }""");
        var problem = Assert.Single(problems);
        Assert.StartsWith(source + ": ", problem);
        return problem[(source.Length + 2)..];
    }

    [Fact]
    public void UnknownFieldSuggestsTheNearest() =>
        Assert.Equal("space.lerning_rate is not a config field; did you mean 'learning_rate'?",
            Fails("random", """{ "lerning_rate": { "log_uniform": [1e-4, 1e-3] } }"""));

    [Fact]
    public void EmptyList() =>
        Assert.Equal("space.num_layers = [] is empty; list at least one value", Fails("grid", """{ "num_layers": [] }"""));

    [Fact]
    public void EmptyChoice() =>
        Assert.Equal("space.num_layers.choice = [] is empty; list at least one value", Fails("random", """{ "num_layers": { "choice": [] } }"""));

    [Fact]
    public void LowAboveHigh() =>
        Assert.Equal("space.dropout.uniform = [0.3, 0.1] has low 0.3 > high 0.1; swap them",
            Fails("random", """{ "dropout": { "uniform": [0.3, 0.1] } }"""));

    [Fact]
    public void IntLowAboveHigh() =>
        Assert.Equal("space.num_layers.int_uniform = [4, 2] has low 4 > high 2; swap them",
            Fails("random", """{ "num_layers": { "int_uniform": [4, 2] } }"""));

    [Fact]
    public void LogUniformNeedsPositiveLow() =>
        Assert.Equal("space.learning_rate.log_uniform = [0, 1.0e-03] has low 0, but log_uniform needs low > 0 (it draws the logarithm); e.g. [1e-4, 1.0e-03], or use uniform",
            Fails("random", """{ "learning_rate": { "log_uniform": [0, 1e-3] } }"""));

    [Fact]
    public void ListValueOutOfTheFieldsRange() =>
        Assert.Equal("space.dropout value 1.5 is invalid: dropout 1.5 is out of range: must be in [0, 1), e.g. 0.1",
            Fails("grid", """{ "dropout": [0.1, 1.5] }"""));

    [Fact]
    public void DistributionBoundOutOfTheFieldsRange() =>
        Assert.Equal("space.num_layers value 0 is invalid: num_layers 0 is out of range: must be 1..256",
            Fails("random", """{ "num_layers": { "int_uniform": [0, 3] } }"""));

    [Fact]
    public void ValueInvalidWithAFieldThatIsNotSweptIsRefusedUpFront() =>
        Assert.Equal("space.embedding_size value 102 is invalid: embedding_size 102 must be divisible by num_heads 4 (try 100 or 104)",
            Fails("grid", """{ "embedding_size": [64, 102] }"""));

    [Theory]
    [InlineData("""{ "num_layers": [2, "three"] }""", "space.num_layers[1]: num_layers = \"three\" is not valid; expected a whole number, e.g. 12")]
    [InlineData("""{ "num_layers": [2, 2.5] }""", "space.num_layers[1]: num_layers = 2.5 is not valid; expected a whole number, e.g. 12")]
    [InlineData("""{ "activation": ["gelu", "GELU"] }""", "space.activation[1]: activation = \"GELU\" is not valid; expected one of gelu, relu, tanh, relu2")]
    [InlineData("""{ "dropout": { "uniform": [0, "0.2"] } }""", "space.dropout.uniform[1]: dropout = \"0.2\" is not valid; expected a number, e.g. 3e-4")]
    [InlineData("""{ "num_layers": { "uniform": [2, 4] } }""", "space.num_layers.uniform: num_layers takes a whole number, e.g. 12, which uniform does not draw; use int_uniform")]
    [InlineData("""{ "dropout": { "int_uniform": [0, 1] } }""", "space.dropout.int_uniform: dropout takes a number, e.g. 3e-4, which int_uniform does not draw; use uniform or log_uniform")]
    [InlineData("""{ "activation": { "uniform": [0, 1] } }""", "space.activation.uniform: activation takes one of gelu, relu, tanh, relu2, which uniform does not draw; use a list of values")]
    [InlineData("""{ "dropout": { "uniform": [0.1] } }""", "space.dropout.uniform = [0.1] is not valid; expected [low, high]")]
    [InlineData("""{ "dropout": { "normal": [0, 1] } }""", "space.dropout: unknown distribution 'normal'; valid keys are choice, uniform, log_uniform, int_uniform")]
    [InlineData("""{ "dropout": { "unifrom": [0, 1] } }""", "space.dropout: unknown distribution 'unifrom'; did you mean 'uniform'?")]
    [InlineData("""{ "dropout": 0.1 }""", "space.dropout = 0.1 is not valid; expected a list of values like [1, 2] or a distribution like {\"uniform\": [0.0, 0.2]}")]
    [InlineData("""{ "dropout": [0.1, 0.1] }""", "space.dropout lists 0.1 more than once; remove the repeat (each value is a trial of its own)")]
    public void WrongTypeOrShape(string space, string expected) => Assert.Equal(expected, Fails("random", space));

    [Fact]
    public void GridNeedsLists() =>
        Assert.Equal("space.learning_rate is log_uniform, but grid search needs a list of values, e.g. \"learning_rate\": [a, b, c]; or use \"strategy\": \"random\"",
            Fails("grid", """{ "learning_rate": { "log_uniform": [1e-4, 1e-3] } }"""));

    [Fact]
    public void GridAcceptsChoiceAsAList() =>
        Assert.Single(_files.Load("""{ "strategy": "grid", "space": { "num_layers": { "choice": [1, 2] } } }""").Space);

    [Fact]
    public void HugeGridIsRefused() =>
        Assert.Equal("the grid has 10,201 combinations, more than 10000; shorten the lists or use random search",
            Fails("grid", $$"""{ "warmup_steps": [{{string.Join(", ", Enumerable.Range(0, 101))}}], "seed": [{{string.Join(", ", Enumerable.Range(0, 101))}}] }"""));

    [Fact]
    public void ValueThatOnlyClashesWithAnotherSweptFieldIsLeftToTheCombinations()
    {
        // 72 is not divisible by the base's 4 heads, but every trial here has 6 heads.
        var spec = _files.Load("""{ "strategy": "grid", "space": { "embedding_size": [48, 72], "num_heads": [6] } }""");

        Assert.Equal(2, spec.Space.Count);
    }
}

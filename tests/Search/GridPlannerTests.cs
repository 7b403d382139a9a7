using Distributed.Models.Config;
using Distributed.Models.Search;
using Distributed.Models;

namespace Distributed.Tests.Search;

public sealed class GridPlannerTests : IDisposable
{
    private readonly SweepFile _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void EveryCombinationInFileOrderWithTheLastFieldFastest()
    {
        var spec = _files.Load("""
            { "strategy": "grid", "space": { "num_layers": [2, 3], "activation": ["gelu", "relu", "tanh"], "learning_rate": [3e-4, 1e-3] } }
            """);

        var plan = TrialPlanner.Plan(spec);

        Assert.Equal(0, plan.ResampledInvalid);
        Assert.Equal(
            [
                "num_layers=2 activation=gelu learning_rate=3.0e-04",
                "num_layers=2 activation=gelu learning_rate=1.0e-03",
                "num_layers=2 activation=relu learning_rate=3.0e-04",
                "num_layers=2 activation=relu learning_rate=1.0e-03",
                "num_layers=2 activation=tanh learning_rate=3.0e-04",
                "num_layers=2 activation=tanh learning_rate=1.0e-03",
                "num_layers=3 activation=gelu learning_rate=3.0e-04",
                "num_layers=3 activation=gelu learning_rate=1.0e-03",
                "num_layers=3 activation=relu learning_rate=3.0e-04",
                "num_layers=3 activation=relu learning_rate=1.0e-03",
                "num_layers=3 activation=tanh learning_rate=3.0e-04",
                "num_layers=3 activation=tanh learning_rate=1.0e-03",
            ],
            plan.Trials.Select(t => t.Describe()));
        Assert.Equal(Enumerable.Range(0, 12), plan.Trials.Select(t => t.Index));
    }

    [Fact]
    public void TrialsCarryTheirValuesAndTheBaseWithThemAppliedAsTypedConfigFields()
    {
        var spec = _files.Load("""
            { "base": { "batch_size": 4 }, "strategy": "grid", "space": { "activation": ["relu"], "num_layers": [3], "dropout": [0.1] } }
            """);

        var trial = Assert.Single(TrialPlanner.Plan(spec).Trials);

        Assert.Equal(["activation", "num_layers", "dropout"], trial.Values.Keys);
        Assert.Equal(["relu", 3, 0.1], trial.Values.Values);
        Assert.Equal(new GptConfig { BatchSize = 4, Activation = Activation.Relu, NumLayers = 3, Dropout = 0.1 }, trial.Config);
    }

    [Fact]
    public void ACombinationTheModelRejectsIsNamedBeforeAnythingStarts()
    {
        // 100 and 102 each pass with the base's 4 heads on their own, so only whole combinations show the clash.
        var path = _files.Write("""{ "strategy": "grid", "space": { "embedding_size": [96, 100, 102], "num_heads": [4, 6] } }""");
        var spec = SweepLoader.Load(path);

        var error = Assert.Throws<ConfigException>(() => TrialPlanner.Plan(spec));

        Assert.Equal([
            $"sweep file '{path}': grid combination 4 of 6 (embedding_size=100 num_heads=6) is invalid: embedding_size 100 must be divisible by num_heads 6 (try 96 or 102)",
            $"sweep file '{path}': grid combination 5 of 6 (embedding_size=102 num_heads=4) is invalid: embedding_size 102 must be divisible by num_heads 4 (try 100 or 104)"],
            error.Problems);
    }
}

using Distributed.Models.Config;
using Distributed.Models.Data;
using Distributed.Models.Search;
using Distributed.Models;

namespace Distributed.Tests.Search;

public sealed class RandomPlannerTests : IDisposable
{
    private const string Space = """
        "space": {
          "learning_rate": { "log_uniform": [1e-4, 3e-3] },
          "dropout": { "uniform": [0.0, 0.2] },
          "num_layers": { "int_uniform": [2, 4] },
          "embedding_size": { "choice": [64, 128] },
          "activation": ["gelu", "relu"]
        }
        """;

    private readonly SweepFile _files = new();

    public void Dispose() => _files.Dispose();

    private SweepPlan Plan(int trials, long seed, string space = Space) =>
        TrialPlanner.Plan(_files.Load($$"""{ "strategy": "random", "trials": {{trials}}, "seed": {{seed}}, {{space}} }"""));

    [Fact]
    public void TheSameSeedGivesTheSamePlan()
    {
        var first = Plan(8, seed: 1).Trials.Select(t => t.Describe()).ToList();
        var second = Plan(8, seed: 1).Trials.Select(t => t.Describe()).ToList();

        Assert.Equal(8, first.Count);
        Assert.Equal(first, second);
        Assert.Equal(8, first.Distinct().Count());
    }

    [Fact]
    public void TheExactValuesAreFixedForASeed()
    {
        // Pins the sampling rule itself (DerivedSeed per draw, fields in file order), so a change to it
        // shows up here instead of silently changing published sweeps.
        var trial = Plan(1, seed: 1).Trials[0];

        var rng = new Rng(DerivedSeed.For(1, 0x53_57_45_45_50_52_4E_44, 0));
        var learningRate = Math.Exp(Math.Log(1e-4) + (Math.Log(3e-3) - Math.Log(1e-4)) * rng.NextDouble());
        var dropout = 0.2 * rng.NextDouble();
        var layers = 2 + rng.NextInt(3);
        var embedding = new[] { 64, 128 }[rng.NextInt(2)];
        var activation = new[] { "gelu", "relu" }[rng.NextInt(2)];
        Assert.Equal([learningRate, dropout, layers, embedding, activation], trial.Values.Values);
    }

    [Fact]
    public void AnotherSeedGivesAnotherPlan()
    {
        Assert.NotEqual(
            Plan(8, seed: 1).Trials.Select(t => t.Describe()),
            Plan(8, seed: 2).Trials.Select(t => t.Describe()));
    }

    [Fact]
    public void MoreTrialsStartWithTheSameTrials()
    {
        Assert.Equal(
            Plan(3, seed: 5).Trials.Select(t => t.Describe()),
            Plan(6, seed: 5).Trials.Take(3).Select(t => t.Describe()));
    }

    [Fact]
    public void DrawsStayInRangeAndReachBothEndsOfIntRanges()
    {
        var trials = Plan(300, seed: 3).Trials;

        Assert.All(trials, t =>
        {
            Assert.InRange((double)t.Values["learning_rate"], 1e-4, 3e-3);
            Assert.InRange((double)t.Values["dropout"], 0.0, 0.2);
            Assert.InRange((int)t.Values["num_layers"], 2, 4);
            Assert.Contains((int)t.Values["embedding_size"], new[] { 64, 128 });
            Assert.Equal(t.Config.LearningRate, t.Values["learning_rate"]);
            Assert.Equal(t.Config.NumLayers, t.Values["num_layers"]);
            Assert.Equal(t.Values["activation"], t.Config.Activation.ToString().ToLowerInvariant());
        });
        Assert.Equal([2, 3, 4], trials.Select(t => (int)t.Values["num_layers"]).Distinct().Order());
        Assert.Equal(["gelu", "relu"], trials.Select(t => (string)t.Values["activation"]).Distinct().Order());
        // Log-uniform: about as many draws below the geometric midpoint (5.5e-4) as above it.
        Assert.InRange(trials.Count(t => (double)t.Values["learning_rate"] < Math.Sqrt(1e-4 * 3e-3)), 120, 180);
    }

    [Fact]
    public void InvalidDrawsAreRedrawnAndCounted()
    {
        var plan = Plan(20, seed: 1, """ "space": { "embedding_size": { "int_uniform": [60, 72] }, "num_heads": [4, 6] } """);

        Assert.Equal(20, plan.Trials.Count);
        Assert.True(plan.ResampledInvalid > 0, "most of these combinations are not divisible");
        Assert.All(plan.Trials, t => Assert.Equal(0, t.Config.EmbeddingSize % t.Config.NumHeads));
    }

    [Fact]
    public void GivesUpWhenAlmostNothingIsValid()
    {
        // None of 61, 62, 63 divides by 4 or 5: every draw is rejected.
        var path = _files.Write("""{ "strategy": "random", "trials": 2, "space": { "embedding_size": [61, 62, 63], "num_heads": [4, 5] } }""");
        var spec = SweepLoader.Load(path);

        var error = Assert.Throws<ConfigException>(() => TrialPlanner.Plan(spec));

        Assert.StartsWith($"sweep file '{path}': random search gave up after 200 draws: only 0 of 2 trials were valid; the config validator rejected 200, most recently (embedding_size=", error.Message);
        Assert.EndsWith("Narrow the space so that most combinations are valid.", error.Message);
    }
}

using Distributed.Models.Config;
using Distributed.Models.Search;
using Distributed.Models;

namespace Distributed.Tests.Search;

public sealed class SweepLoaderTests : IDisposable
{
    private readonly SweepFile _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void ReadsEveryKeyOfAFullSweepWithComments()
    {
        var spec = _files.Load("""
            {
              // a small random search
              "base": { "num_layers": 2, "max_steps": 100 },
              "strategy": "random",
              "trials": 8,
              "seed": 7,
              "metric": "val_loss",
              "workers_per_trial": 2,
              "max_retries": 3,
              "patience": 4,
              "asha": { "reduction_factor": 2, "min_evaluations": 5 },
              "keep": "all",
              "space": {
                "learning_rate": { "log_uniform": [1e-4, 3e-3] },
                "dropout": { "uniform": [0.0, 0.2] },
                "num_layers": { "int_uniform": [2, 4] },
                "embedding_size": { "choice": [64, 128] },
                "activation": ["gelu", "relu"],
              },
            }
            """);

        Assert.Equal(new GptConfig { NumLayers = 2, MaxSteps = 100 }, spec.BaseConfig);
        Assert.Equal(SearchStrategy.Random, spec.Strategy);
        Assert.Equal(8, spec.Trials);
        Assert.Equal(7, spec.Seed);
        Assert.Equal("val_loss", spec.Metric);
        Assert.Equal(2, spec.WorkersPerTrial);
        Assert.Equal(3, spec.MaxRetries);
        Assert.Equal(4, spec.Patience);
        Assert.Equal(new AshaSettings(2, 5), spec.Asha);
        Assert.Equal(KeepPolicy.All, spec.Keep);
        Assert.Collection(spec.Space,
            d => Assert.Equal(new LogUniformDimension("learning_rate", 1e-4, 3e-3), d),
            d => Assert.Equal(new UniformDimension("dropout", 0.0, 0.2), d),
            d => Assert.Equal(new IntUniformDimension("num_layers", 2, 4), d),
            d => Assert.Equal(["embedding_size", 64, 128], [d.Field, .. ((ChoiceDimension)d).Values]),
            d => Assert.Equal(["activation", "gelu", "relu"], [d.Field, .. ((ChoiceDimension)d).Values]));
    }

    [Fact]
    public void OptionalKeysHaveDefaults()
    {
        var spec = _files.Load("""{ "strategy": "grid", "space": { "dropout": [0.0, 0.1] } }""");

        Assert.Equal(new GptConfig(), spec.BaseConfig);
        Assert.Null(spec.Trials);
        Assert.Equal(new GptConfig().Seed, spec.Seed);
        Assert.Null(spec.WorkersPerTrial);
        Assert.Equal(1, spec.MaxRetries);
        Assert.Null(spec.Patience);
        Assert.Null(spec.Asha);
        Assert.Equal(KeepPolicy.Best, spec.Keep);
        Assert.Equal([0.0, 0.1], ((ChoiceDimension)Assert.Single(spec.Space)).Values);
    }

    [Fact]
    public void BaseConfigIsReadRelativeToTheSweepFileAndBaseOverridesIt()
    {
        // A decoy where the working directory would find it: read by mistake, num_layers would be 3.
        _files.Write("""{ "num_layers": 3, "batch_size": 32 }""", Path.Combine("configs", "small.json"));
        var sweep = _files.Write("""
            { "base_config": "configs/small.json", "base": { "batch_size": 8 }, "strategy": "grid", "space": { "dropout": [0.1] } }
            """, Path.Combine("sweeps", "s.json"));
        _files.Write("""{ "num_layers": 6, "batch_size": 32 }""", Path.Combine("sweeps", "configs", "small.json"));

        var spec = SweepLoader.Load(sweep);

        Assert.Equal(new GptConfig { NumLayers = 6, BatchSize = 8 }, spec.BaseConfig);
    }

    [Fact]
    public void MissingBaseConfigNamesWhereItLooked()
    {
        var (problems, source) = _files.Fails("""{ "base_config": "nope.json", "strategy": "grid", "space": { "dropout": [0.1] } }""");

        var problem = Assert.Single(problems);
        Assert.StartsWith($"{source}: base_config = \"nope.json\" does not exist (looked for '{Path.Combine(_files.Folder, "nope.json")}')", problem);
    }

    [Fact]
    public void InvalidBaseIsReported()
    {
        var (problems, source) = _files.Fails("""{ "base": { "lerning_rate": 0.1, "dropout": "x" }, "strategy": "grid", "space": { "dropout": [0.1] } }""");

        Assert.Equal([
            $"{source}: base: unknown key 'lerning_rate'; did you mean 'learning_rate'?",
            $"{source}: base: dropout = \"x\" is not valid; expected a number, e.g. 3e-4"], problems);
    }

    [Fact]
    public void UnknownTopLevelKeySuggestsTheNearest()
    {
        var (problems, source) = _files.Fails("""{ "strategy": "grid", "patiense": 3, "learning_rate": 0.1, "space": { "dropout": [0.1] } }""");

        Assert.Equal([
            $"{source}: unknown key 'patiense'; did you mean 'patience'?",
            $"{source}: unknown key 'learning_rate'; config fields go under \"base\" (fixed for every trial) or \"space\" (searched)"], problems);
    }

    [Theory]
    [InlineData("""{ "space": { "dropout": [0.1] } }""", "strategy is missing; add \"strategy\": \"grid\" or \"random\"")]
    [InlineData("""{ "strategy": "bayes", "space": { "dropout": [0.1] } }""", "strategy = \"bayes\" is not valid; expected \"grid\" or \"random\"")]
    [InlineData("""{ "strategy": "random", "space": { "dropout": [0.1] } }""", "trials is missing; random search needs \"trials\": N with N >= 1")]
    [InlineData("""{ "strategy": "random", "trials": 0, "space": { "dropout": [0.1] } }""", "trials = 0 is out of range: must be 1..10000")]
    [InlineData("""{ "strategy": "random", "trials": "8", "space": { "dropout": [0.1] } }""", "trials = \"8\" is not valid; expected a whole number 1..10000")]
    [InlineData("""{ "strategy": "grid", "trials": 4, "space": { "dropout": [0.1] } }""", "trials = 4 does not apply to grid search, which runs every combination; remove it or use \"strategy\": \"random\"")]
    [InlineData("""{ "strategy": "grid", "metric": "accuracy", "space": { "dropout": [0.1] } }""", "metric = \"accuracy\" is not supported; the only metric is \"val_loss\"")]
    [InlineData("""{ "strategy": "grid", "keep": "some", "space": { "dropout": [0.1] } }""", "keep = \"some\" is not valid; expected \"best\" or \"all\"")]
    [InlineData("""{ "strategy": "grid", "keep": 1, "space": { "dropout": [0.1] } }""", "keep = 1 is not valid; expected \"best\" or \"all\"")]
    [InlineData("""{ "strategy": "grid", "workers_per_trial": 0, "space": { "dropout": [0.1] } }""", "workers_per_trial = 0 is out of range: must be 1..100000")]
    [InlineData("""{ "strategy": "grid", "max_retries": -1, "space": { "dropout": [0.1] } }""", "max_retries = -1 is out of range: must be 0..100")]
    [InlineData("""{ "strategy": "grid", "asha": { "reduction_factor": 1 }, "space": { "dropout": [0.1] } }""", "asha.reduction_factor = 1 is out of range: must be 2..1000")]
    [InlineData("""{ "strategy": "grid", "asha": { "min_evaluation": 1 }, "space": { "dropout": [0.1] } }""", "unknown key 'asha.min_evaluation'; did you mean 'min_evaluations'?")]
    [InlineData("""{ "strategy": "grid", "patience": 0, "space": { "dropout": [0.1] } }""", "patience = 0 is out of range: must be 1..1000000")]
    [InlineData("""{ "strategy": "grid" }""", "space is missing; add the fields to search, e.g. \"space\": { \"learning_rate\": [3e-4, 1e-3] }")]
    [InlineData("""{ "strategy": "grid", "space": {} }""", "space is empty; name at least one field to search, e.g. \"space\": { \"learning_rate\": [3e-4, 1e-3] }")]
    public void BadTopLevelValueNamesTheKeyValueAndFix(string json, string expected)
    {
        var (problems, source) = _files.Fails(json);

        Assert.Equal($"{source}: {expected}", Assert.Single(problems));
    }

    [Fact]
    public void EveryProblemIsReportedAtOnce()
    {
        var (problems, _) = _files.Fails("""{ "strategy": "random", "keep": 1, "space": { "dropout": [], "num_layerz": [1] } }""");

        Assert.Equal(4, problems.Count);
    }

    [Fact]
    public void MalformedJsonNamesTheFile()
    {
        var path = _files.Write("""{ "strategy": "grid", "strategy": "random" }""");

        var error = Assert.Throws<ConfigException>(() => SweepLoader.Load(path));

        Assert.StartsWith($"sweep file '{path}' is not valid JSON", error.Message);
    }
}

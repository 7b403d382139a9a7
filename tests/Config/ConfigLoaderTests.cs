using Distributed.Models.Config;
using Distributed.Models;
using Distributed.Tests.Checkpoints;

namespace Distributed.Tests.Config;

public sealed class ConfigLoaderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string WriteConfig(string json)
    {
        var path = _temp.File("config.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static ConfigException Fails(Func<GptConfig> load) => Assert.Throws<ConfigException>(() => load());

    [Fact]
    public void JsonTextRoundTripsAndIsCheckedLikeAFile()
    {
        var config = new GptConfig { NumLayers = 3, LearningRate = 3e-4, Activation = Activation.Relu };

        Assert.Equal(config, ConfigLoader.FromJson(ConfigLoader.ToJson(config), "test"));
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.FromJson("{\"num_layerz\": 2}", "the coordinator's config"));
        Assert.Contains("the coordinator's config", error.Message + string.Join(" ", error.Problems));
    }

    [Fact]
    public void NoFileAndNoOverridesGivesTheDefaults()
    {
        Assert.Equal(new GptConfig(), ConfigLoader.Load(null, []));
    }

    [Fact]
    public void FileSetsOnlyTheKeysItNames()
    {
        var path = WriteConfig("""{ "num_layers": 6, "activation": "relu", "optimizer": "sgd", "learning_rate": 0.01 }""");

        var config = ConfigLoader.Load(path, []);

        Assert.Equal(new GptConfig { NumLayers = 6, Activation = Activation.Relu, Optimizer = OptimizerKind.Sgd, LearningRate = 0.01 }, config);
    }

    [Fact]
    public void OverridesApplyAfterTheFileAndParseTheirTypes()
    {
        var path = WriteConfig("""{ "learning_rate": 0.01, "activation": "tanh", "optimizer": "sgd" }""");

        var config = ConfigLoader.Load(path, ["learning_rate=3e-4", "activation=relu", "optimizer = adamw", "tokenizer=bpe", "vocab_size=512", "seed=-7"]);

        Assert.Equal(3e-4, config.LearningRate);
        Assert.Equal(Activation.Relu, config.Activation);
        Assert.Equal(OptimizerKind.AdamW, config.Optimizer);
        Assert.Equal("bpe", config.Tokenizer);
        Assert.Equal(512, config.VocabSize);
        Assert.Equal(-7, config.Seed);
    }

    [Fact]
    public void HandWrittenFilesMayHaveCommentsAndTrailingCommas()
    {
        var path = WriteConfig("""
            {
              // a small model
              "num_layers": 2,
            }
            """);

        Assert.Equal(2, ConfigLoader.Load(path, []).NumLayers);
    }

    [Fact]
    public void StartsFromAGivenBaseSuchAsAPreset()
    {
        var config = ConfigLoader.Load(GptPresets.Get("gpt2"), null, ["batch_size=4"]);

        Assert.Equal(GptPresets.Get("gpt2") with { BatchSize = 4 }, config);
    }

    [Fact]
    public void UnknownFileKeySuggestsTheNearestName()
    {
        var path = WriteConfig("""{ "lerning_rate": 0.01 }""");

        var error = Fails(() => ConfigLoader.Load(path, []));

        Assert.Equal($"config file '{path}': unknown key 'lerning_rate'; did you mean 'learning_rate'?", Assert.Single(error.Problems));
    }

    [Theory]
    [InlineData("numLayers=2", "num_layers")]
    [InlineData("Embedding-Size=64", "embedding_size")]
    [InlineData("betta1=0.8", "beta1")]
    public void UnknownOverrideKeySuggestsTheNearestName(string text, string suggestion)
    {
        var error = Fails(() => ConfigLoader.Load(null, [text]));

        Assert.Contains($"--set {text}: unknown key", error.Message);
        Assert.Contains($"did you mean '{suggestion}'?", error.Message);
    }

    [Fact]
    public void UnknownKeyWithNothingCloseListsTheValidKeys()
    {
        var error = Fails(() => ConfigLoader.Load(null, ["colour=blue"]));

        Assert.Contains("unknown key 'colour'; valid keys are num_layers, num_heads, embedding_size", error.Message);
    }

    [Theory]
    [InlineData("activation=swish", "--set activation=swish: activation = \"swish\" is not valid; expected one of gelu, relu, tanh, relu2")]
    [InlineData("activation=GELU", "--set activation=GELU: activation = \"GELU\" is not valid; expected one of gelu, relu, tanh, relu2")]
    [InlineData("optimizer=adam", "--set optimizer=adam: optimizer = \"adam\" is not valid; expected one of adamw, sgd")]
    [InlineData("num_layers=four", "--set num_layers=four: num_layers = \"four\" is not valid; expected a whole number, e.g. 12")]
    [InlineData("num_layers=2.5", "--set num_layers=2.5: num_layers = 2.5 is not valid; expected a whole number, e.g. 12")]
    [InlineData("learning_rate=fast", "--set learning_rate=fast: learning_rate = \"fast\" is not valid; expected a number, e.g. 3e-4")]
    [InlineData("learning_rate=", "--set learning_rate=: learning_rate = \"\" is not valid; expected a number, e.g. 3e-4")]
    [InlineData("learning_rate", "--set learning_rate: expected key=value, e.g. --set learning_rate=3e-4")]
    [InlineData("bias=no", "--set bias=no: bias = \"no\" is not valid; expected true or false")]
    [InlineData("norm=RMSNorm", "--set norm=RMSNorm: norm = \"RMSNorm\" is not valid; expected one of layernorm, rmsnorm")]
    [InlineData("mlp=geglu", "--set mlp=geglu: mlp = \"geglu\" is not valid; expected one of gpt2, swiglu")]
    [InlineData("position=alibi", "--set position=alibi: position = \"alibi\" is not valid; expected one of learned, rope")]
    public void BadOverrideNamesTheArgumentFieldValueAndWhatIsAllowed(string text, string expected)
    {
        var error = Fails(() => ConfigLoader.Load(null, [text]));

        Assert.Equal(expected, Assert.Single(error.Problems));
    }

    [Theory]
    [InlineData("""{ "activation": "swish" }""", "activation = \"swish\" is not valid; expected one of gelu, relu, tanh, relu2")]
    [InlineData("""{ "activation": 1 }""", "activation = 1 is not valid; expected one of gelu, relu, tanh, relu2")]
    [InlineData("""{ "batch_size": "12" }""", "batch_size = \"12\" is not valid; expected a whole number, e.g. 12")]
    [InlineData("""{ "tokenizer": null }""", "tokenizer is null; give it a string")]
    [InlineData("""{ "tie_embeddings": 0 }""", "tie_embeddings = 0 is not valid; expected true or false")]
    public void BadFileValueNamesTheFileFieldValueAndWhatIsAllowed(string json, string expected)
    {
        var path = WriteConfig(json);

        var error = Fails(() => ConfigLoader.Load(path, []));

        Assert.Equal($"config file '{path}': {expected}", Assert.Single(error.Problems));
    }

    [Fact]
    public void EveryProblemIsReportedAtOnce()
    {
        var path = WriteConfig("""{ "num_layerz": 2, "dropout": "high" }""");

        var error = Fails(() => ConfigLoader.Load(path, ["beta3=0.5", "activation=swish"]));

        Assert.Equal(4, error.Problems.Count);
        Assert.Contains("The configuration has 4 problems:", error.Message);
    }

    [Fact]
    public void TheLoadedConfigIsValidated()
    {
        var error = Fails(() => ConfigLoader.Load(null, ["embedding_size=130"]));

        Assert.Equal("embedding_size 130 must be divisible by num_heads 4 (try 128 or 132)", Assert.Single(error.Problems));
    }

    [Fact]
    public void AGradAccumStepsThatDoesNotDivideTheBatchIsRefusedAtLoad()
    {
        var error = Fails(() => ConfigLoader.Load(null, ["batch_size=12", "grad_accum_steps=5"]));

        Assert.Equal("batch_size 12 must be divisible by grad_accum_steps 5 (try grad_accum_steps 4 or 6, or a batch_size that is a multiple of 5)",
            Assert.Single(error.Problems));
        Assert.Equal(3, ConfigLoader.Load(null, ["batch_size=12", "grad_accum_steps=3"]).GradAccumSteps);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        var path = _temp.File("nope.json");

        var error = Fails(() => ConfigLoader.Load(path, []));

        Assert.StartsWith($"config file '{path}' cannot be read", error.Message);
        Assert.Contains("check the path", error.Message);
    }

    [Theory]
    [InlineData("""{ "num_layers": }""", "is not valid JSON")]
    [InlineData("""{ "num_layers": 2, "num_layers": 3 }""", "Duplicate property 'num_layers'")]
    [InlineData("[1, 2]", "must hold a JSON object")]
    public void MalformedFileIsNamedWithTheFault(string json, string fault)
    {
        var path = WriteConfig(json);

        var error = Fails(() => ConfigLoader.Load(path, []));

        Assert.StartsWith($"config file '{path}'", error.Message);
        Assert.Contains(fault, error.Message);
    }

    [Fact]
    public void ToJsonWritesSnakeCaseIndentedWithLowercaseEnums()
    {
        var json = ConfigLoader.ToJson(new GptConfig { Activation = Activation.Tanh, Optimizer = OptimizerKind.Sgd });

        Assert.Contains("\n  \"num_layers\": 4,", json.ReplaceLineEndings("\n"));
        Assert.Contains("\"activation\": \"tanh\"", json);
        Assert.Contains("\"optimizer\": \"sgd\"", json);
        Assert.DoesNotContain("FeedForwardSize", json);
        Assert.DoesNotContain("head_size", json);
    }

    [Fact]
    public void ArchitectureOverridesParseTheirTypes()
    {
        var config = ConfigLoader.Load(null,
            ["norm=rmsnorm", "mlp=swiglu", "position=rope", "bias=false", "tie_embeddings=false", "qk_norm=true", "rope_theta=5e5", "max_seconds=90"]);

        Assert.Equal((NormKind.RmsNorm, MlpKind.SwiGlu, PositionKind.Rope), (config.Norm, config.Mlp, config.Position));
        Assert.Equal((false, false, true), (config.Bias, config.TieEmbeddings, config.QkNorm));
        Assert.Equal((5e5, 90.0), (config.RopeTheta, config.MaxSeconds));
    }

    [Fact]
    public void ArchitectureFieldsRoundTripThroughToJsonAndLoad()
    {
        var original = GptPresets.Get("llama-7b") with { QkNorm = true, FeedForwardSize = 3000, RopeTheta = 1e4 + 0.5, MaxSeconds = 12.25 };

        var json = ConfigLoader.ToJson(original);

        Assert.Contains("\"norm\": \"rmsnorm\"", json);
        Assert.Contains("\"tie_embeddings\": false", json);
        Assert.Equal(original, ConfigLoader.Load(WriteConfig(json), []));
    }

    [Fact]
    public void ToJsonRoundTripsThroughLoad()
    {
        var original = GptPresets.Get("gpt2-medium") with
        {
            Dropout = 0.1,
            Activation = Activation.Relu,
            Optimizer = OptimizerKind.Sgd,
            LearningRate = 6e-4,
            MinLearningRate = 6e-5,
            Beta2 = 0.95,
            MaxSteps = 1000,
            Seed = long.MaxValue,
        };

        var reloaded = ConfigLoader.Load(WriteConfig(ConfigLoader.ToJson(original)), []);

        Assert.Equal(original, reloaded);
    }
}

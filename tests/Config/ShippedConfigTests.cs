using Distributed.Models.Config;
using Distributed.Models.Search;

namespace Distributed.Tests.Config;

/// <summary>The configs/ a user starts from load, and the fast config is compared with its baseline on equal terms.</summary>
public sealed class ShippedConfigTests
{
    private static string ConfigsFolder => Path.Combine(Repository.Root(), "configs");

    public static TheoryData<string> Files() => [.. Directory.GetFiles(ConfigsFolder, "*.json").Select(path => Path.GetFileName(path)).Order()];

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_shipped_config_and_sweep_loads(string file)
    {
        var path = Path.Combine(ConfigsFolder, file);
        if (file.StartsWith("sweep-", StringComparison.Ordinal))
        {
            Assert.NotEmpty(SweepLoader.Load(path).Space);
        }
        else
        {
            ConfigValidator.Validate(ConfigLoader.Load(path, []));
        }
    }

    [Fact]
    public void The_fast_config_trains_on_the_baselines_budget()
    {
        var baseline = ConfigLoader.Load(Path.Combine(ConfigsFolder, "shakespeare-char.json"), []);
        var fast = ConfigLoader.Load(Path.Combine(ConfigsFolder, "shakespeare-char-fast.json"), []);

        // The same model size and batch, and no more tokens: what differs is how the model uses them.
        Assert.Equal((baseline.NumLayers, baseline.NumHeads, baseline.EmbeddingSize, baseline.MaxSequenceLength),
            (fast.NumLayers, fast.NumHeads, fast.EmbeddingSize, fast.MaxSequenceLength));
        Assert.Equal((baseline.BatchSize, baseline.WarmupSteps, baseline.Seed), (fast.BatchSize, fast.WarmupSteps, fast.Seed));
        Assert.InRange(fast.MaxSteps, 1, baseline.MaxSteps);
        Assert.NotEqual(baseline, fast);
    }
}

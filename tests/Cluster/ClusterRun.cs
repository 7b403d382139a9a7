using Distributed.Models.Config;
using Distributed.Models;
using Distributed.Tests.Training;

namespace Distributed.Tests.Cluster;

/// <summary>A folder with generated text and a tiny config, for runs of real coordinator and worker processes.</summary>
internal sealed class ClusterRun : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("cluster-");

    public ClusterRun(GptConfig? config = null, int characters = 12_000)
    {
        Config = config ?? new GptConfig
        {
            NumLayers = 1, NumHeads = 2, EmbeddingSize = 16, MaxSequenceLength = 8, BatchSize = 8,
            LearningRate = 3e-3, MinLearningRate = 3e-4, WarmupSteps = 5, NumEpochs = 1, MaxSteps = 0, EvalInterval = 1000,
            Dropout = 0, WeightDecay = 0.01,
        };
        ConfigPath = Path.Combine(_directory.FullName, "config.json");
        File.WriteAllText(ConfigPath, ConfigLoader.ToJson(Config));
        DataPath = TestCorpus.WriteFile(_directory.FullName, characters);
    }

    public GptConfig Config { get; }

    public string ConfigPath { get; }

    public string DataPath { get; }

    public string Token { get; } = Guid.NewGuid().ToString("N");

    public string Folder(string name) => Path.Combine(_directory.FullName, name);

    /// <summary>Arguments every run shares: config, data, output folder and overrides.</summary>
    public string[] RunArguments(string output, params string[] overrides)
        => ["--config", ConfigPath, "--data", DataPath, "--out", Folder(output), .. overrides.SelectMany(o => new[] { "--set", o })];

    public void Dispose() => _directory.Delete(recursive: true);
}

using System.Text;
using Distributed.Models;
using Distributed.Models.Training;

namespace Distributed.Tests.Training;

/// <summary>Generated training text, so tests need no data files.</summary>
internal static class TestCorpus
{
    /// <summary>
    /// Sentences from a tiny grammar: each word is fixed and the next word depends only on the
    /// previous one, so a model that learns it predicts most characters almost surely.
    /// </summary>
    public static string Sentences(int characters, long seed = 3)
    {
        string[] words = ["the cat", "sat on", "a mat", "and the dog", "ran far"];
        var rng = new Rng(seed);
        var text = new StringBuilder();
        var word = 0;
        while (text.Length < characters)
        {
            text.Append(words[word]).Append(' ');
            // Mostly the next word in order; sometimes a jump, so the text is not one fixed cycle.
            word = rng.NextDouble() < 0.9 ? (word + 1) % words.Length : rng.NextInt(words.Length);
            if (rng.NextDouble() < 0.2)
            {
                text.Append(".\n");
            }
        }
        return text.ToString();
    }

    public static string WriteFile(string directory, int characters)
    {
        var path = Path.Combine(directory, "corpus.txt");
        File.WriteAllText(path, Sentences(characters));
        return path;
    }

    public static GptConfig TinyConfig => new()
    {
        NumLayers = 2, NumHeads = 2, EmbeddingSize = 32, MaxSequenceLength = 16, BatchSize = 8,
        LearningRate = 3e-3, MinLearningRate = 3e-4, WarmupSteps = 10, MaxSteps = 150, NumEpochs = 50,
        EvalInterval = 50, Dropout = 0, WeightDecay = 0.01,
    };
}

/// <summary>Collects what a trainer reports; optionally acts on each evaluation (e.g. to interrupt).</summary>
internal sealed class RecordingObserver(Action<EvaluationReport>? onEvaluation = null) : ITrainingObserver
{
    public List<float> Losses { get; } = [];

    public List<EvaluationReport> Evaluations { get; } = [];

    public void OnStep(StepReport report) => Losses.Add(report.Loss);

    public void OnEvaluation(EvaluationReport report)
    {
        Evaluations.Add(report);
        onEvaluation?.Invoke(report);
    }
}

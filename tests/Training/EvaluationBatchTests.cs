using Distributed.Models.Data;
using Distributed.Models.Runtime;
using Distributed.Models.Tokenizers;
using Distributed.Models.Training;

namespace Distributed.Tests.Training;

/// <summary>Validation scores windows a training micro-batch at a time; the figure must not depend on that cut.</summary>
public sealed class EvaluationBatchTests
{
    [Fact]
    public void Every_window_scores_the_same_loss_whatever_the_micro_batch()
    {
        var text = TestCorpus.Sentences(6_000);
        var tokenizer = CharTokenizer.Train(text);
        var config = TestCorpus.TinyConfig with { VocabSize = tokenizer.VocabSize, BatchSize = 8 };
        var replica = new ModelReplica(config);
        var sampler = EpochSampler.Of(text, tokenizer, config);
        var windows = sampler.EvaluationWindows(step: 0, evalBatches: 0, config.BatchSize);
        Assert.NotEqual(0, windows.Count % 3);   // so the cut by 3 ends with a partial batch

        double Score(int batchSize, int accumulation)
        {
            using var session = new GptEvaluationSession(config with { BatchSize = batchSize, GradAccumSteps = accumulation }, replica.Parameters, threads: 1);
            return session.MeanLoss(windows);
        }

        var whole = Score(batchSize: 1024, accumulation: 1);   // capped at 64, still more than there are windows: one forward
        Assert.Equal(whole, Score(batchSize: 3, accumulation: 1), 5);
        Assert.Equal(whole, Score(batchSize: 12, accumulation: 4), 5);
        Assert.InRange(whole, 0.5 * Math.Log(tokenizer.VocabSize), 2 * Math.Log(tokenizer.VocabSize));   // an untrained model: near a uniform guess
    }
}

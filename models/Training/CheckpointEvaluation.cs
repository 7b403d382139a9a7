using Distributed.Models.Data;
using Distributed.Models.DataParallel;
using Distributed.Models.Runtime;

namespace Distributed.Models.Training;

/// <summary>A checkpoint's mean loss on each split of a text, and how many windows each figure averages.</summary>
public sealed record SplitLosses(double TrainLoss, int TrainWindows, double ValLoss, int ValWindows);

/// <summary>
/// Scores a saved run on a text, split 90/10 and cut into windows as in training. Either every window of
/// each split (the figure `train` reports), or nanoGPT's estimate_loss: the mean of
/// <c>batches</c> batches of batch_size windows at random offsets per split, which is cheaper but noisy.
/// </summary>
public static class CheckpointEvaluation
{
    public static SplitLosses Run(string checkpointDirectory, string text, int batches, long seed, int threads)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batches);
        var (config, tokenizer, contents) = RunCheckpoint.Load(checkpointDirectory);
        var replica = new ModelReplica(config);
        RunCheckpoint.Restore(replica, contents);
        var sampler = EpochSampler.Of(text, tokenizer, config);
        using var session = new GptEvaluationSession(config, replica.Parameters, threads);
        var rng = new Rng(seed);
        var train = sampler.EstimateWindows(DataSplit.Train, batches, config.BatchSize, rng);
        var validation = sampler.EstimateWindows(DataSplit.Validation, batches, config.BatchSize, rng);
        return new SplitLosses(session.MeanLoss(train), train.Count, session.MeanLoss(validation), validation.Count);
    }
}

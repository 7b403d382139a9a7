using Distributed.Models;
using Distributed.Models.DataParallel;
using Distributed.Models.Training;

namespace Distributed.Tests.Training;

/// <summary>k micro-batches of B/k sequences give one optimizer step the gradient and loss of one batch of B.</summary>
public sealed class GradientAccumulationTests
{
    private static readonly GptConfig Config = new()
    {
        NumLayers = 2, NumHeads = 2, EmbeddingSize = 16, MaxSequenceLength = 8, VocabSize = 20, BatchSize = 8, Dropout = 0,
    };

    /// <summary>Eight windows of random tokens, as a worker's shard holds them.</summary>
    private static WindowShard Windows()
    {
        var rng = new Rng(9);
        return new WindowShard(Enumerable.Range(0, 8 * 9).Select(_ => rng.NextInt(20)).ToArray(), Config.MaxSequenceLength);
    }

    /// <summary>The step's gradient and loss of rank <paramref name="rank"/>, its windows cut by the layout from the order 0..7.</summary>
    private static (float[] Gradient, float Loss) Step(ModelReplica replica, DataParallelLayout layout, int rank)
    {
        using var accumulation = new GradientAccumulation(Config with { GradAccumSteps = layout.MicroBatches }, replica,
            layout.MicroBatchOf(rank), threads: 1);
        var windows = new int[layout.BatchOf(rank)];
        layout.TrainWindows(Enumerable.Range(0, 8).ToArray(), stepInEpoch: 0, rank, windows);
        var loss = accumulation.ComputeGradients(layout, rank, Windows(), windows, new Rng(1));
        return ((float[])replica.Gradients.Data.Clone(), loss);
    }

    private static double RelativeError(float[] actual, float[] expected)
        => Math.Sqrt(actual.Zip(expected, (a, b) => (double)(a - b) * (a - b)).Sum()) / Math.Sqrt(expected.Sum(v => (double)v * v));

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void Micro_batches_give_the_gradient_and_loss_of_the_whole_batch(int microBatches)
    {
        var replica = new ModelReplica(Config);
        var (whole, wholeLoss) = Step(replica, new DataParallelLayout(1, 8), rank: 0);

        var (accumulated, loss) = Step(replica, new DataParallelLayout(1, 8, microBatches), rank: 0);

        Assert.True(RelativeError(accumulated, whole) <= 1e-5, $"relative error {RelativeError(accumulated, whole):E2}");
        Assert.Equal(wholeLoss, loss, 1e-5 * wholeLoss);
    }

    [Fact]
    public void Two_ranks_of_two_micro_batches_weighted_by_the_layout_give_the_whole_batchs_gradient()
    {
        var replica = new ModelReplica(Config);
        var (whole, _) = Step(replica, new DataParallelLayout(1, 8), rank: 0);
        var layout = new DataParallelLayout(2, 8, microBatches: 2);

        var ranks = Enumerable.Range(0, 2).Select(rank => Step(replica, layout, rank).Gradient).ToArray();
        var averaged = new float[whole.Length];
        GradientAverage.WeightedSum([ranks[0], ranks[1]], [layout.WeightOf(0), layout.WeightOf(1)], 0, averaged);

        Assert.True(RelativeError(averaged, whole) <= 1e-5, $"relative error {RelativeError(averaged, whole):E2}");
    }

    [Fact]
    public void A_layout_of_another_micro_batch_size_is_refused()
    {
        var replica = new ModelReplica(Config with { GradAccumSteps = 2 });
        using var accumulation = new GradientAccumulation(Config with { GradAccumSteps = 2 }, replica, microBatch: 4, threads: 1);

        var error = Assert.Throws<ArgumentException>(() =>
            accumulation.ComputeGradients(new DataParallelLayout(2, 8, 2), 0, Windows(), new int[4], new Rng(1)));

        Assert.Contains("2 micro-batches of 4 windows, but rank 0's layout has 2 of 2", error.Message);
    }
}

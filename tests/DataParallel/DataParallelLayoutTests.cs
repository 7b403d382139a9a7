using Distributed.Models.DataParallel;

namespace Distributed.Tests.DataParallel;

public class DataParallelLayoutTests
{
    private static readonly int[] Order = Enumerable.Range(0, 40).Select(i => (i * 17) % 40).ToArray();   // a shuffled epoch

    [Theory]
    [InlineData(1, 8, 1)]
    [InlineData(2, 8, 1)]
    [InlineData(3, 8, 1)]
    [InlineData(8, 8, 1)]
    [InlineData(1, 8, 4)]
    [InlineData(3, 12, 2)]
    [InlineData(4, 8, 2)]
    public void Ranks_share_each_global_batch_exactly_once(int world, int batch, int microBatches)
    {
        var layout = new DataParallelLayout(world, batch, microBatches);

        for (var step = 0; step < Order.Length / batch; step++)
        {
            var union = Enumerable.Range(0, world).SelectMany(rank =>
            {
                var windows = new int[layout.BatchOf(rank)];
                layout.TrainWindows(Order, step, rank, windows);
                return windows;
            }).Order();
            Assert.Equal(Order[(step * batch)..((step + 1) * batch)].Order(), union);
        }
    }

    [Fact]
    public void Rank_r_takes_strided_positions_of_the_global_batch()
    {
        var layout = new DataParallelLayout(3, 8);   // ranks take 3, 3 and 2 windows
        var windows = new int[3];

        layout.TrainWindows(Order, stepInEpoch: 1, rank: 1, windows);

        Assert.Equal([Order[8 + 1], Order[8 + 1 + 3], Order[8 + 1 + 6]], windows);
        Assert.Equal([3, 3, 2], Enumerable.Range(0, 3).Select(layout.BatchOf));
    }

    [Fact]
    public void Micro_batch_u_of_every_rank_together_is_the_u_th_slice_of_the_global_batch()
    {
        var layout = new DataParallelLayout(3, 12, microBatches: 2);   // micro-batches of 6: ranks take 2 each, 4 per step
        const int step = 1;

        for (var micro = 0; micro < 2; micro++)
        {
            var union = Enumerable.Range(0, 3).SelectMany(rank =>
            {
                var windows = new int[layout.BatchOf(rank)];
                layout.TrainWindows(Order, step, rank, windows);
                return layout.MicroBatchWindows(windows, rank, micro).ToArray();
            }).Order();
            Assert.Equal(Order[(step * 12 + micro * 6)..(step * 12 + (micro + 1) * 6)].Order(), union);
        }
        Assert.Equal([2, 2, 2], Enumerable.Range(0, 3).Select(layout.MicroBatchOf));
    }

    [Fact]
    public void One_rank_with_micro_batches_trains_on_the_whole_batch_in_order()
    {
        var layout = new DataParallelLayout(1, 8, microBatches: 4);
        var windows = new int[8];

        layout.TrainWindows(Order, stepInEpoch: 2, rank: 0, windows);

        Assert.Equal(Order[16..24], windows);
        Assert.Equal(Order[18..20], layout.MicroBatchWindows(windows, 0, 1).ToArray());
    }

    [Theory]
    [InlineData(2, 8, 1)]
    [InlineData(3, 8, 1)]
    [InlineData(5, 12, 1)]
    [InlineData(5, 12, 2)]
    [InlineData(4, 24, 3)]
    public void Weights_are_each_ranks_share_and_sum_to_one(int world, int batch, int microBatches)
    {
        var layout = new DataParallelLayout(world, batch, microBatches);

        var weights = Enumerable.Range(0, world).Select(layout.WeightOf).ToArray();

        Assert.Equal(1.0, weights.Sum(w => (double)w), 6);
        Assert.All(Enumerable.Range(0, world), r => Assert.Equal((double)layout.BatchOf(r) / batch, weights[r], 6));
    }

    [Theory]
    [InlineData(1, 10)]
    [InlineData(3, 10)]
    [InlineData(4, 2)]
    public void Validation_windows_are_split_without_gaps_or_overlaps(int world, int validationWindows)
    {
        var layout = new DataParallelLayout(world, Math.Max(world, 4));

        var shares = Enumerable.Range(0, world).Select(rank => layout.ValidationWindows(validationWindows, rank)).ToArray();

        Assert.Equal(Enumerable.Range(0, validationWindows), shares.SelectMany(s => s).Order());
        Assert.All(Enumerable.Range(0, world), rank => Assert.All(shares[rank], v => Assert.Equal(rank, v % world)));
    }

    [Fact]
    public void A_shard_is_read_in_step_order()
    {
        var layout = new DataParallelLayout(3, 8);
        var windows = new int[2];

        layout.ShardWindows(stepInAssignment: 4, rank: 2, windows);

        Assert.Equal([8, 9], windows);
    }

    [Fact]
    public void A_global_batch_smaller_than_the_world_names_the_fix()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new DataParallelLayout(3, 2));

        Assert.Contains("batch_size 2 is smaller than the 3 workers", error.Message);
        Assert.Contains("raise batch_size or use fewer workers", error.Message);
    }

    [Fact]
    public void A_micro_batch_smaller_than_the_world_names_the_fix()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new DataParallelLayout(3, 8, microBatches: 4));

        Assert.Contains("batch_size 8 / grad_accum_steps 4 = 2 sequences per micro-batch is fewer than the 3 workers", error.Message);
        Assert.Contains("lower grad_accum_steps", error.Message);
        Assert.Equal(2, DataParallelLayout.MaxWorldSize(8, 4));
    }

    [Fact]
    public void Shards_hold_each_ranks_windows_of_the_global_batches_and_a_share_of_validation()
    {
        var text = Training.TestCorpus.Sentences(3_000);
        var tokenizer = Models.Tokenizers.CharTokenizer.Train(text);
        var sampler = new Models.Data.EpochSampler(new Models.Data.TokenDataset(tokenizer.Encode(text)), 8, seed: 5);
        var layout = new DataParallelLayout(3, 8);
        var order = sampler.EpochOrder(1);
        var offset = sampler.EpochOffset(1);

        var shards = Enumerable.Range(0, 3).Select(rank => layout.CutShard(sampler, order, offset, stepInEpoch: 2, steps: 2, rank, sampler.Validation)).ToArray();

        for (var step = 0; step < 2; step++)
        {
            var expected = new int[8 * 9];
            for (var j = 0; j < 8; j++)
            {
                sampler.CopyWindow(Models.Data.DataSplit.Train, order[(2 + step) * 8 + j], offset, expected.AsSpan(j * 9, 9));
            }
            var fromShards = Enumerable.Range(0, 3).SelectMany(rank =>
                shards[rank].Train.Chunk(9).Skip(step * layout.BatchOf(rank)).Take(layout.BatchOf(rank)));
            Assert.Equal(expected.Chunk(9).Select(w => string.Join(',', w)).Order(), fromShards.Select(w => string.Join(',', w)).Order());
        }
        Assert.Equal(sampler.ValidationWindows * 9, shards.Sum(s => s.Validation.Length));
    }

    [Fact]
    public void Shards_share_out_a_random_sample_of_validation_windows_whole()
    {
        var text = Training.TestCorpus.Sentences(3_000);
        var tokenizer = Models.Tokenizers.CharTokenizer.Train(text);
        var sampler = new Models.Data.EpochSampler(new Models.Data.TokenDataset(tokenizer.Encode(text)), 8, seed: 5);
        var layout = new DataParallelLayout(2, 8);
        var sample = sampler.EvaluationWindows(step: 10, evalBatches: 3, batchSize: 5);

        var shards = Enumerable.Range(0, 2).Select(rank => layout.CutShard(sampler, sampler.EpochOrder(0), 0, 0, 1, rank, sample).Validation).ToArray();

        var expected = Enumerable.Range(0, sample.Count).Select(i => string.Join(',', sample.Window(i).ToArray())).Order();
        Assert.Equal(expected, shards.SelectMany(s => s.Chunk(9)).Select(w => string.Join(',', w)).Order());
        Assert.Equal([8, 7], shards.Select(s => s.Length / 9));
    }
}

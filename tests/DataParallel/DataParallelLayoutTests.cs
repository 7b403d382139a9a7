using Distributed.Models.DataParallel;

namespace Distributed.Tests.DataParallel;

public class DataParallelLayoutTests
{
    private static readonly int[] Order = Enumerable.Range(0, 40).Select(i => (i * 17) % 40).ToArray();   // a shuffled epoch

    [Theory]
    [InlineData(1, 8)]
    [InlineData(2, 8)]
    [InlineData(3, 8)]
    [InlineData(8, 8)]
    public void Ranks_share_each_global_batch_exactly_once(int world, int batch)
    {
        var layout = new DataParallelLayout(world, batch);

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

    [Theory]
    [InlineData(2, 8)]
    [InlineData(3, 8)]
    [InlineData(5, 12)]
    public void Weights_are_each_ranks_share_and_sum_to_one(int world, int batch)
    {
        var layout = new DataParallelLayout(world, batch);

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
    public void Shards_hold_each_ranks_windows_of_the_global_batches_and_a_share_of_validation()
    {
        var text = Training.TestCorpus.Sentences(3_000);
        var tokenizer = Models.Tokenizers.CharTokenizer.Train(text);
        var sampler = new Models.Data.EpochSampler(new Models.Data.TokenDataset(tokenizer.Encode(text)), 8, seed: 5);
        var layout = new DataParallelLayout(3, 8);
        var order = sampler.EpochOrder(1);
        var offset = sampler.EpochOffset(1);

        var shards = Enumerable.Range(0, 3).Select(rank => layout.CutShard(sampler, order, offset, stepInEpoch: 2, steps: 2, rank)).ToArray();

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
}

using Distributed.Models.Data;
using Distributed.Models;

namespace Distributed.Tests.Data;

public class EpochSamplerTests
{
    private const int SequenceLength = 4; // windows of 5 tokens

    // Token i has value i, so a filled buffer shows exactly which positions it came from.
    private static EpochSampler Sampler(int tokenCount = 1000, long seed = 1337) =>
        new(new TokenDataset(Enumerable.Range(0, tokenCount).ToArray()), SequenceLength, seed);

    [Fact]
    public void Counts_non_overlapping_windows_of_sequence_length_plus_one()
    {
        var sampler = Sampler(1003); // 902 train tokens, 101 validation tokens

        // (902 - 4) / 5: windows that fit wherever an epoch's grid starts in [0, T].
        Assert.Equal(179, sampler.WindowsPerEpoch);
        Assert.Equal(20, sampler.ValidationWindows);
    }

    [Fact]
    public void Later_epochs_shift_the_window_grid_by_a_seeded_offset()
    {
        var sampler = Sampler();
        var offsets = Enumerable.Range(0, 20).Select(sampler.EpochOffset).ToList();

        Assert.Equal(0, offsets[0]);
        Assert.All(offsets, o => Assert.InRange(o, 0, SequenceLength));
        Assert.True(offsets.Distinct().Count() > 2);
        Assert.Equal(offsets, Enumerable.Range(0, 20).Select(Sampler().EpochOffset));

        var (inputs, targets) = (new long[SequenceLength], new long[SequenceLength]);
        sampler.FillBatch(DataSplit.Train, [sampler.WindowsPerEpoch - 1], inputs, targets, offset: SequenceLength);
        Assert.Equal(SequenceLength + (sampler.WindowsPerEpoch - 1) * (SequenceLength + 1), inputs[0]);
        Assert.Equal(inputs[0] + SequenceLength, targets[^1]);
    }

    [Fact]
    public void An_epoch_visits_every_window_exactly_once_in_shuffled_order()
    {
        var sampler = Sampler();

        var order = sampler.EpochOrder(0);

        Assert.Equal(Enumerable.Range(0, sampler.WindowsPerEpoch), order.Order());
        Assert.NotEqual(Enumerable.Range(0, sampler.WindowsPerEpoch), order);
    }

    [Fact]
    public void Order_depends_only_on_seed_and_epoch()
    {
        var first = Sampler(seed: 42);
        var second = Sampler(seed: 42);

        // Asking for epoch 5 first (as a resumed run would) gives what a run that went through epochs 0-4 gets.
        var resumed = second.EpochOrder(5);
        for (var epoch = 0; epoch < 5; epoch++)
        {
            first.EpochOrder(epoch);
        }

        Assert.Equal(first.EpochOrder(5), resumed);
        Assert.NotEqual(first.EpochOrder(0), first.EpochOrder(1));
        Assert.NotEqual(Sampler(seed: 43).EpochOrder(0), first.EpochOrder(0));
    }

    [Fact]
    public void Batch_targets_are_inputs_shifted_by_one()
    {
        var sampler = Sampler();
        var inputs = new long[2 * SequenceLength];
        var targets = new long[2 * SequenceLength];

        sampler.FillBatch(DataSplit.Train, [3, 0], inputs, targets);

        Assert.Equal([15, 16, 17, 18, 0, 1, 2, 3], inputs);
        Assert.Equal([16, 17, 18, 19, 1, 2, 3, 4], targets);
    }

    [Fact]
    public void Filling_a_batch_allocates_nothing()
    {
        var sampler = Sampler();
        var windows = sampler.EpochOrder(0)[..8];
        var inputs = new long[8 * SequenceLength];
        var targets = new long[8 * SequenceLength];
        sampler.FillBatch(DataSplit.Train, windows, inputs, targets); // first call may JIT

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var step = 0; step < 100; step++)
        {
            sampler.FillBatch(DataSplit.Train, windows, inputs, targets);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Validation_windows_come_from_the_validation_split_in_order()
    {
        var sampler = Sampler();
        var inputs = new long[2 * SequenceLength];
        var targets = new long[2 * SequenceLength];

        sampler.FillBatch(DataSplit.Validation, [0, 1], inputs, targets);

        Assert.Equal([900, 901, 902, 903, 905, 906, 907, 908], inputs);
        Assert.Equal([901, 902, 903, 904, 906, 907, 908, 909], targets);
    }

    [Fact]
    public void Random_windows_are_contiguous_runs_inside_their_split_at_unaligned_offsets()
    {
        var sampler = Sampler();
        const int count = 1000;
        var inputs = new long[count * SequenceLength];
        var targets = new long[count * SequenceLength];

        sampler.RandomWindows(DataSplit.Validation, count, new Rng(5)).Fill(Enumerable.Range(0, count).ToArray(), inputs, targets);

        var starts = inputs.Chunk(SequenceLength).Select(row => row[0]).ToArray();
        Assert.All(inputs.Chunk(SequenceLength).Zip(targets.Chunk(SequenceLength)), pair =>
        {
            Assert.Equal(Enumerable.Range((int)pair.First[0], SequenceLength).Select(v => (long)v), pair.First);
            Assert.Equal(pair.First.Select(v => v + 1), pair.Second);
        });
        // Every token of the window, the last target included, lies in the validation split [900, 1000).
        Assert.All(starts, start => Assert.InRange(start, 900, 1000 - SequenceLength - 1));
        Assert.Contains(starts, start => (start - 900) % (SequenceLength + 1) != 0);
        Assert.Contains(starts, start => start == 1000 - SequenceLength - 1);
    }

    [Fact]
    public void Random_windows_repeat_for_the_same_seed()
    {
        long[] Draw(long seed)
        {
            var (inputs, targets) = (new long[10 * SequenceLength], new long[10 * SequenceLength]);
            Sampler().RandomWindows(DataSplit.Train, 10, new Rng(seed)).Fill(Enumerable.Range(0, 10).ToArray(), inputs, targets);
            return inputs;
        }

        Assert.Equal(Draw(7), Draw(7));
        Assert.NotEqual(Draw(7), Draw(8));
    }

    [Fact]
    public void An_evaluations_random_batches_depend_on_the_seed_and_step_alone_and_stay_in_the_validation_split()
    {
        long[] Starts(EpochSampler sampler, int step)
        {
            var windows = sampler.EvaluationWindows(step, evalBatches: 3, batchSize: 4);
            return Enumerable.Range(0, windows.Count).Select(i => (long)windows.Window(i)[0]).ToArray();
        }

        var starts = Starts(Sampler(), step: 250);

        Assert.Equal(12, starts.Length);
        Assert.Equal(starts, Starts(Sampler(), step: 250));
        Assert.NotEqual(starts, Starts(Sampler(), step: 500));
        Assert.NotEqual(starts, Starts(Sampler(seed: 7), step: 250));
        // Every token of every window, the last target included, lies in the validation split [900, 1000).
        Assert.All(Enumerable.Range(0, 100).SelectMany(step => Starts(Sampler(), step)), start => Assert.InRange(start, 900, 1000 - SequenceLength - 1));
    }

    [Fact]
    public void An_evaluation_without_eval_batches_scores_every_validation_window_in_order()
    {
        var sampler = Sampler();

        var windows = sampler.EvaluationWindows(step: 250, evalBatches: 0, batchSize: 4);

        Assert.Equal(sampler.ValidationWindows, windows.Count);
        Assert.Equal([905, 906, 907, 908, 909], windows.Window(1).ToArray());
    }

    [Fact]
    public void Buffers_of_the_wrong_size_are_rejected_with_the_expected_size()
    {
        var sampler = Sampler();

        var error = Assert.Throws<ArgumentException>(() => sampler.FillBatch(DataSplit.Train, [0, 1], new long[7], new long[8]));

        Assert.Contains("2 x 4 = 8", error.Message);
    }

    [Fact]
    public void A_window_index_outside_the_split_is_named()
    {
        var sampler = Sampler();

        var error = Assert.Throws<ArgumentOutOfRangeException>(
            () => sampler.FillBatch(DataSplit.Validation, [sampler.ValidationWindows], new long[4], new long[4]));

        Assert.Contains($"Window {sampler.ValidationWindows}", error.Message);
    }

    [Fact]
    public void Steps_per_epoch_drop_the_incomplete_last_batch()
    {
        var sampler = Sampler(); // (900 train tokens - 4) / 5 = 179 windows

        Assert.Equal(17, sampler.StepsPerEpoch(10));
        Assert.Equal(25, sampler.StepsPerEpoch(7));
    }

    [Fact]
    public void A_batch_larger_than_an_epoch_is_an_error_not_zero_steps()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Sampler().StepsPerEpoch(181));

        Assert.Contains("batch_size 181", error.Message);
    }

    [Fact]
    public void Text_too_short_for_one_window_is_an_error()
    {
        var error = Assert.Throws<ArgumentException>(() => Sampler(40)); // 4 validation tokens < 5

        Assert.Contains("validation split has 4 tokens", error.Message);
    }
}

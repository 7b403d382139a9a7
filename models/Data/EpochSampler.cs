using Distributed.Models.Tokenizers;

namespace Distributed.Models.Data;

/// <summary>
/// Cuts each split into non-overlapping windows of max_sequence_length + 1 tokens (a window gives T inputs
/// and, shifted by one, T targets). An epoch visits every training window once, in an order shuffled from
/// (seed, epoch) alone, so a run resumed at any epoch sees the same order without replaying earlier ones.
/// Validation windows are used in order.
/// </summary>
public sealed class EpochSampler
{
    // Names this random stream so it differs from other streams drawn from the same run seed.
    private const ulong EpochShufflePurpose = 0x45_50_4F_43_48_53_48_46; // "EPOCHSHF"
    private const ulong EpochOffsetPurpose = 0x45_50_4F_43_48_4F_46_46; // "EPOCHOFF"
    private const ulong EvaluationPurpose = 0x45_56_41_4C_42_41_54_43; // "EVALBATC"

    private readonly TokenDataset _data;
    private readonly long _seed;

    public EpochSampler(TokenDataset data, int maxSequenceLength, long seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSequenceLength);
        _data = data;
        _seed = seed;
        SequenceLength = maxSequenceLength;
        // Enough room for the grid at any epoch offset in [0, T] (see EpochOffset).
        WindowsPerEpoch = Math.Max(0, data.TrainTokens.Length - maxSequenceLength) / WindowLength;
        ValidationWindows = data.ValidationTokens.Length / WindowLength;
        ThrowIfNoWindow("training", data.TrainTokens.Length, WindowsPerEpoch);
        ThrowIfNoWindow("validation", data.ValidationTokens.Length, ValidationWindows);
    }

    /// <summary>A run's windows of <paramref name="text"/>: tokenized, split 90/10, cut and shuffled as the config says.</summary>
    public static EpochSampler Of(string text, ITokenizer tokenizer, GptConfig config)
        => new(new TokenDataset(tokenizer.Encode(text)), config.MaxSequenceLength, config.Seed);

    /// <summary>T: the inputs and the targets of one window each have this many tokens.</summary>
    public int SequenceLength { get; }

    public int WindowsPerEpoch { get; }

    /// <summary>Validation windows are indexed 0..ValidationWindows-1 in text order; fill them with <see cref="FillBatch"/>.</summary>
    public int ValidationWindows { get; }

    private int WindowLength => SequenceLength + 1;

    /// <summary>Full batches of <paramref name="batchSize"/> windows in one epoch; an incomplete last batch is dropped.</summary>
    public int StepsPerEpoch(int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (WindowsPerEpoch < batchSize)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize,
                $"batch_size {batchSize} is more than the {WindowsPerEpoch} training windows of an epoch " +
                $"({WindowLength} tokens each), so no step could run; lower batch_size or max_sequence_length, or use more text.");
        }
        return WindowsPerEpoch / batchSize;
    }

    /// <summary>The validation split's windows, in text order, as something an evaluation can score.</summary>
    public DataParallel.IWindowSource Validation => Windows(DataSplit.Validation);

    /// <summary>Every window of a split on the unshifted grid, in text order (the train split's epoch-0 windows).</summary>
    public DataParallel.IWindowSource Windows(DataSplit split)
        => new SplitWindows(this, split, split == DataSplit.Train ? WindowsPerEpoch : ValidationWindows, Offset: 0);

    /// <summary>The train split's windows on epoch <paramref name="epoch"/>'s grid (<see cref="EpochOffset"/>), indexed as <see cref="EpochOrder"/> orders them.</summary>
    public DataParallel.IWindowSource EpochWindows(int epoch) => new SplitWindows(this, DataSplit.Train, WindowsPerEpoch, EpochOffset(epoch));

    /// <summary>
    /// What a loss estimate of a split scores: every window (<paramref name="batches"/> 0), or nanoGPT's
    /// estimate_loss, <paramref name="batches"/> batches of <paramref name="batchSize"/> windows at random
    /// offsets drawn from <paramref name="rng"/>.
    /// </summary>
    public DataParallel.IWindowSource EstimateWindows(DataSplit split, int batches, int batchSize, Rng rng)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batches);
        return batches == 0 ? Windows(split) : RandomWindows(split, batches * batchSize, rng);
    }

    /// <summary>
    /// The validation windows a run's evaluation after <paramref name="step"/> optimizer steps scores
    /// (eval_batches, batch_size): the same for the single-process trainer and a distributed run, since the
    /// random offsets come from (seed, step) alone.
    /// </summary>
    public DataParallel.IWindowSource EvaluationWindows(int step, int evalBatches, int batchSize)
        => EstimateWindows(DataSplit.Validation, evalBatches, batchSize, new Rng(DerivedSeed.For(_seed, EvaluationPurpose, step)));

    /// <summary>
    /// <paramref name="count"/> windows of a split starting at uniformly random token positions, which may
    /// overlap: how nanoGPT's get_batch draws them, so its estimate_loss can be reproduced (see `evaluate`).
    /// </summary>
    public DataParallel.IWindowSource RandomWindows(DataSplit split, int count, Rng rng)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var tokens = SplitTokens(split);
        var starts = new int[count];
        for (var i = 0; i < count; i++)
        {
            starts[i] = rng.NextInt(tokens.Length - WindowLength + 1);
        }
        return new OffsetWindows(tokens, starts, SequenceLength);
    }

    private sealed record SplitWindows(EpochSampler Sampler, DataSplit Split, int Count, int Offset) : DataParallel.IWindowSource
    {
        public void Fill(ReadOnlySpan<int> windows, Span<long> inputs, Span<long> targets) => Sampler.FillBatch(Split, windows, inputs, targets, Offset);

        public ReadOnlySpan<int> Window(int index)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            return Sampler.SplitTokens(Split).Span.Slice(Offset + index * Sampler.WindowLength, Sampler.WindowLength);
        }
    }

    private sealed class OffsetWindows(ReadOnlyMemory<int> tokens, int[] starts, int sequenceLength) : DataParallel.IWindowSource
    {
        public int Count => starts.Length;

        public ReadOnlySpan<int> Window(int index) => tokens.Span.Slice(starts[index], sequenceLength + 1);

        public void Fill(ReadOnlySpan<int> windows, Span<long> inputs, Span<long> targets)
        {
            for (var row = 0; row < windows.Length; row++)
            {
                TokenWindow.Copy(tokens.Span.Slice(starts[windows[row]], sequenceLength + 1),
                    inputs.Slice(row * sequenceLength, sequenceLength), targets.Slice(row * sequenceLength, sequenceLength));
            }
        }
    }

    /// <summary>
    /// Where epoch <paramref name="epoch"/>'s grid of windows starts in the train split. Epoch 0 starts at
    /// token 0; each later epoch shifts the grid by a seeded offset in [0, T], so a second pass cuts the
    /// text at new places (the variety that random-offset sampling gives) while still visiting
    /// non-overlapping windows, each once.
    /// </summary>
    public int EpochOffset(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return epoch == 0 ? 0 : new Rng(DerivedSeed.For(_seed, EpochOffsetPurpose, epoch)).NextInt(WindowLength);
    }

    /// <summary>Every training window index once, shuffled deterministically from (seed, epoch).</summary>
    public int[] EpochOrder(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var order = Enumerable.Range(0, WindowsPerEpoch).ToArray();
        new Rng(DerivedSeed.For(_seed, EpochShufflePurpose, epoch)).Shuffle(order.AsSpan());
        return order;
    }

    /// <summary>
    /// Writes one row per window index into caller-owned [B, T] buffers (B = windowIndices.Length):
    /// inputs are a window's first T tokens, targets its last T, so targets[b, t] = inputs[b, t + 1].
    /// Nothing is allocated, so a training loop can reuse its buffers every step.
    /// </summary>
    /// <param name="offset">The train split's grid offset for the epoch (<see cref="EpochOffset"/>); 0 for validation.</param>
    public void FillBatch(DataSplit split, ReadOnlySpan<int> windowIndices, Span<long> inputs, Span<long> targets, int offset = 0)
    {
        if (offset < 0 || offset > SequenceLength || (split == DataSplit.Validation && offset != 0))
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset,
                $"offset must be in [0, {SequenceLength}] for the train split and 0 for validation.");
        }
        var (tokens, windowCount) = split switch
        {
            DataSplit.Train => (_data.TrainTokens, WindowsPerEpoch),
            DataSplit.Validation => (_data.ValidationTokens, ValidationWindows),
            _ => throw new ArgumentOutOfRangeException(nameof(split), split, "split must be Train or Validation."),
        };
        var tokenSpan = tokens.Span;
        var expected = windowIndices.Length * SequenceLength;
        if (inputs.Length != expected || targets.Length != expected)
        {
            throw new ArgumentException(
                $"inputs and targets must each hold batch x max_sequence_length = {windowIndices.Length} x {SequenceLength} = {expected} " +
                $"values, but have {inputs.Length} and {targets.Length}; size the buffers to match the window count.");
        }

        for (var row = 0; row < windowIndices.Length; row++)
        {
            var window = windowIndices[row];
            if ((uint)window >= (uint)windowCount)
            {
                throw new ArgumentOutOfRangeException(nameof(windowIndices), window,
                    $"Window {window} (row {row}) is outside the {split} split's windows [0, {windowCount}).");
            }
            TokenWindow.Copy(tokenSpan.Slice(offset + window * WindowLength, WindowLength),
                inputs.Slice(row * SequenceLength, SequenceLength), targets.Slice(row * SequenceLength, SequenceLength));
        }
    }

    /// <summary>Copies the T + 1 tokens of one window (at the given grid offset) into <paramref name="destination"/>.</summary>
    public void CopyWindow(DataSplit split, int window, int offset, Span<int> destination)
        => SplitTokens(split).Span.Slice(offset + window * WindowLength, WindowLength).CopyTo(destination);

    private ReadOnlyMemory<int> SplitTokens(DataSplit split) => split == DataSplit.Train ? _data.TrainTokens : _data.ValidationTokens;

    private void ThrowIfNoWindow(string split, int tokenCount, int windows)
    {
        if (windows == 0)
        {
            throw new ArgumentException(
                $"The {split} split has {tokenCount} tokens, fewer than max_sequence_length + 1 = {WindowLength}, so it has no window; " +
                "use a longer text or a smaller max_sequence_length.");
        }
    }
}

using Distributed.Models.DataParallel;

namespace Distributed.Coordinator.Distributed;

/// <summary>
/// One scoring of the validation windows after a step (the whole split, or eval_batches random batches):
/// every member scores its share (<see cref="DataParallelLayout.ValidationWindows"/>) and reports the summed loss over its tokens;
/// the share of a member lost meanwhile is scored by the coordinator instead. Complete when every
/// share is in; the result is the token-weighted mean. Not thread-safe: called under the run's lock.
/// </summary>
public sealed class ValidationRound
{
    private readonly Dictionary<WorkerSlot, (int Rank, long Tokens)> _pending = [];
    private int _scoringLocally;
    private double _lossSum;
    private long _tokens;

    public ValidationRound(int afterStep, long generation, IReadOnlyList<WorkerSlot> members, DataParallelLayout layout,
        IWindowSource windows, int sequenceLength)
    {
        (AfterStep, Generation, Layout, Windows) = (afterStep, generation, layout, windows);
        foreach (var member in members)
        {
            _pending[member] = (member.Rank, (long)layout.ValidationWindows(windows.Count, member.Rank).Length * sequenceLength);
        }
    }

    public int AfterStep { get; }

    /// <summary>The generation whose members score it.</summary>
    public long Generation { get; }

    public DataParallelLayout Layout { get; }

    /// <summary>The windows this evaluation scores, which the layout shares out among the members.</summary>
    public IWindowSource Windows { get; }

    public IEnumerable<WorkerSlot> Pending => _pending.Keys;

    public bool IsComplete => _pending.Count == 0 && _scoringLocally == 0;

    public double MeanLoss => _lossSum / _tokens;

    /// <summary>Adds a member's share; a refusal when none is expected from it or the report cannot be its share.</summary>
    public Refusal? Report(WorkerSlot member, double lossSum, long tokens)
    {
        if (!_pending.TryGetValue(member, out var share))
        {
            return new Refusal(RefusalKind.NotExpected, $"No validation after step {AfterStep} is expected from {member}.");
        }
        if (share.Tokens == 0 && tokens == 0)
        {
            _pending.Remove(member);   // fewer validation windows than workers: this share is empty
            return null;
        }
        if (!double.IsFinite(lossSum) || lossSum < 0 || tokens != share.Tokens)
        {
            return new Refusal(RefusalKind.InvalidData,
                $"{member} sent a validation report of {lossSum} over {tokens} tokens; its share is {share.Tokens} tokens with a finite loss.");
        }
        _pending.Remove(member);
        (_lossSum, _tokens) = (_lossSum + lossSum, _tokens + tokens);
        return null;
    }

    /// <summary>Takes a lost member's share away from it: the rank whose windows the coordinator must now score, or null if it had reported.</summary>
    public int? TakeOver(WorkerSlot member)
    {
        if (!_pending.Remove(member, out var share))
        {
            return null;
        }
        _scoringLocally++;
        return share.Rank;
    }

    /// <summary>The coordinator's score of a share it took over (mean loss per token over its windows).</summary>
    public void AddLocal(double meanLoss, long tokens)
    {
        _scoringLocally--;
        (_lossSum, _tokens) = (_lossSum + meanLoss * tokens, _tokens + tokens);
    }
}

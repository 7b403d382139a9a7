using Distributed.Models.Experiments;
namespace Distributed.Coordinator.Reports;

/// <summary>A trial in report order, with its rank if it has one.</summary>
/// <param name="Rank">1 = best; null for trials that cannot be ranked (failed, pending, or finished without a finite validation loss).</param>
public sealed record RankedTrial(int? Rank, TrialResult Trial);

/// <summary>Orders trials best first, the way every part of the report lists them.</summary>
public static class TrialRanking
{
    /// <summary>
    /// Finished trials (completed, stopped_early) by best validation loss ascending; then finished
    /// trials without a usable loss; then failed; then pending. Ties keep trial-number order so the
    /// report is the same on every run.
    /// </summary>
    public static IReadOnlyList<RankedTrial> Rank(IReadOnlyList<TrialResult> trials)
    {
        var ordered = trials
            .OrderBy(Group)
            .ThenBy(t => RankingLoss(t) ?? double.PositiveInfinity)
            .ThenBy(t => t.Index)
            .ToList();

        var ranked = new List<RankedTrial>(ordered.Count);
        var next = 1;
        foreach (var trial in ordered)
            ranked.Add(new RankedTrial(Group(trial) == 0 ? next++ : null, trial));
        return ranked;
    }

    /// <summary>
    /// The loss a trial is ranked by: its best validation loss. A diverged run can report NaN or
    /// infinity; that is no measurement to rank by, so it counts as missing.
    /// </summary>
    public static double? RankingLoss(TrialResult trial) =>
        trial.BestValLoss is { } loss && double.IsFinite(loss) ? loss : null;

    private static int Group(TrialResult trial)
    {
        if (TrialStatus.IsDone(trial.Status))
            return RankingLoss(trial) is null ? 1 : 0;
        return string.Equals(trial.Status, TrialStatus.Failed, StringComparison.OrdinalIgnoreCase) ? 2 : 3;
    }
}

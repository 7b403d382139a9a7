namespace Distributed.Coordinator.Reports;

/// <summary>
/// One trial of a hyperparameter sweep as the report sees it.
/// </summary>
/// <param name="Index">The trial's number in the sweep (shown as "trial N").</param>
/// <param name="Params">Swept field -> the value this trial used (double, long or string).</param>
/// <param name="Status">completed | stopped_early | failed | pending.</param>
/// <param name="Reason">Why the trial stopped early or failed; null when it completed.</param>
/// <param name="FinalValLoss">Validation loss at the last evaluation, if any ran.</param>
/// <param name="BestValLoss">Lowest validation loss seen, if any evaluation ran.</param>
/// <param name="Seconds">Wall-clock time the trial took.</param>
/// <param name="Curve">Losses at each evaluation, in step order.</param>
public sealed record TrialResult(
    int Index,
    IReadOnlyDictionary<string, object> Params,
    string Status,
    string? Reason,
    double? FinalValLoss,
    double? BestValLoss,
    double Seconds,
    IReadOnlyList<CurvePoint> Curve);

/// <summary>Train and validation loss at one evaluation step.</summary>
public sealed record CurvePoint(int Step, double TrainLoss, double ValLoss);

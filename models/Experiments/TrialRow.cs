using Distributed.Models.Config;

namespace Distributed.Models.Experiments;

/// <summary>
/// One trial as stored. <see cref="ParamsJson"/> holds the swept values, <see cref="ConfigJson"/> the full resolved
/// config. <see cref="Reason"/> says why it stopped early or failed. <see cref="Seconds"/> adds up every attempt.
/// <see cref="BestValLoss"/> is the lowest validation loss seen (evaluations and the final one); NaN losses are
/// left out of it. Times are UTC.
/// </summary>
public sealed record TrialRow(
    long Id,
    long RunId,
    int Index,
    string ParamsJson,
    string ConfigJson,
    string Status,
    string? Reason,
    int Attempts,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    double? Seconds,
    double? BestValLoss,
    double? FinalValLoss,
    string? CheckpointPath);

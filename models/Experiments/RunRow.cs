using Distributed.Models.Config;

namespace Distributed.Models.Experiments;

/// <summary>
/// One run as stored. <see cref="OutputDirectory"/> is the absolute path; <see cref="ConfigJson"/> is the base
/// config of a train run or the sweep file's text; <see cref="Seconds"/> is null until the run first finishes.
/// Times are UTC.
/// </summary>
public sealed record RunRow(
    long Id,
    string Kind,
    string Name,
    string OutputDirectory,
    string ConfigJson,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    string Status,
    double? Seconds);

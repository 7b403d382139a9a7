namespace Distributed.Coordinator.Dashboard;

/// <summary>One line of the run's configuration summary.</summary>
public sealed record ConfigItem(string Name, string Value);

/// <summary>One row of the workers table.</summary>
/// <param name="StepSeconds">From the step's start to the rank's last gradient bucket, for its last step; NaN when not a member.</param>
public sealed record WorkerRow(int Rank, string Name, string? Host, string Device, string? Transport, double StepSeconds, double SilentSeconds, string Health);

/// <summary>
/// The run as GET /api/run returns it (snake_case JSON; NaN as null): where it stands, its speed, its
/// loss curves and its workers.
/// </summary>
/// <param name="Tokens">Tokens trained on by this coordinator process (a resumed run's earlier ones not counted).</param>
/// <param name="TokensPerSecond">Over the last <see cref="RunBoard.Window"/>; NaN when fewer than two steps closed in it.</param>
/// <param name="EtaSeconds">Time to the last step at the recent pace (evaluations not counted); NaN when unknown.</param>
public sealed record RunSnapshot(
    string Title,
    string Phase,
    IReadOnlyList<ConfigItem> Config,
    int Step,
    int TotalSteps,
    int Epoch,
    double LearningRate,
    long Tokens,
    double TokensPerSecond,
    double EtaSeconds,
    double ElapsedSeconds,
    LossCurve Train,
    LossCurve Validation,
    IReadOnlyList<WorkerRow> Workers,
    int WorkersLost);

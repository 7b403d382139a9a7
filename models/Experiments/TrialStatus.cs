namespace Distributed.Models.Experiments;

/// <summary>
/// A trial's status: `pending` from AddTrial, `running` from StartTrial, then one of the final three from
/// FinishTrial. `completed` and `stopped_early` are final for good; a `failed` trial may be started again.
/// </summary>
public static class TrialStatus
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string StoppedEarly = "stopped_early";
    public const string Failed = "failed";

    /// <summary>The statuses FinishTrial accepts.</summary>
    internal static readonly string[] Final = [Completed, StoppedEarly, Failed];

    /// <summary>Statuses that need a reason: a stopped or failed trial with no why is a dead end when reading results.</summary>
    internal static bool NeedsReason(string status) => status is StoppedEarly or Failed;

    /// <summary>
    /// A trial that finished on its own terms (its losses are real measurements and it competes in a
    /// ranking) is not run again; a failed one may be retried.
    /// </summary>
    public static bool IsDone(string status) => status is Completed or StoppedEarly;
}

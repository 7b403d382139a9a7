namespace Distributed.Models.Experiments;

/// <summary>A run's status: `running` from CreateRun (or ResumeRun) until FinishRun sets one of the others.</summary>
public static class RunStatus
{
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Interrupted = "interrupted";

    /// <summary>The statuses FinishRun accepts.</summary>
    internal static readonly string[] Final = [Completed, Failed, Interrupted];
}

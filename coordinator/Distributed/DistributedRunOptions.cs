namespace Distributed.Coordinator.Distributed;

/// <summary>How a distributed run is hosted and how patient it is.</summary>
public sealed record DistributedRunOptions
{
    /// <summary>Workers to wait for before training starts.</summary>
    public required int Workers { get; init; }

    /// <summary>Below this many live workers the run gives up (it can go on with fewer than Workers).</summary>
    public int MinWorkers { get; init; } = 1;

    /// <summary>A worker silent for this long is dropped; a worker that cannot reach the coordinator this long exits.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A worker that still beats but has not delivered its gradient for the current step (or its
    /// validation report) this long after the step began is dropped too: no all-reduce waits forever.
    /// </summary>
    public TimeSpan StepTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public required string OutputDirectory { get; init; }
}

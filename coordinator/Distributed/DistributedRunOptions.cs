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

    public required string OutputDirectory { get; init; }
}

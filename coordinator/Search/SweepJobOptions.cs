namespace Distributed.Coordinator.Search;

/// <summary>What `sweep` was asked to do.</summary>
public sealed record SweepJobOptions
{
    public required string SweepPath { get; init; }

    public required string Data { get; init; }

    public required string OutputDirectory { get; init; }

    /// <summary>Worker processes to start on this machine; trials share them in groups of workers_per_trial.</summary>
    public required int Workers { get; init; }

    /// <summary>Continue the sweep recorded in the output folder instead of starting a new one.</summary>
    public bool Resume { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Serve the sweep's dashboard on this port of 127.0.0.1 (0: any free one); null: none.</summary>
    public int? DashboardPort { get; init; }
}

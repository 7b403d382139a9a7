using Distributed.Protocol;

namespace Distributed.Worker;

/// <summary>How this worker was started.</summary>
public sealed record WorkerOptions
{
    public required Uri Coordinator { get; init; }

    public required string Token { get; init; }

    /// <summary>For an https:// coordinator: a private CA to trust and a client certificate; null: the system's roots, no client certificate.</summary>
    public ClientTls? Tls { get; init; }

    public required string Name { get; init; }

    /// <summary>ONNX Runtime threads (0: every core).</summary>
    public int Threads { get; init; }

    public string Device { get; init; } = "cpu";

    /// <summary>How long to keep trying to join, and how long the coordinator may be silent before this worker gives up.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
}

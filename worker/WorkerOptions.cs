using Distributed.Protocol;

namespace Distributed.Worker;

/// <summary>Which data plane the worker's gradients take.</summary>
public enum WorkerTransport
{
    /// <summary>Shared memory when the coordinator offers it and its files open (same host), else raw TCP when offered, else gRPC.</summary>
    Auto,

    /// <summary>Always the gRPC stream, values inline.</summary>
    Grpc,

    /// <summary>Shared memory or fail: for a worker that must not fall back to the network.</summary>
    SharedMemory,

    /// <summary>The coordinator's raw TCP data plane or fail: for workers on other hosts that must not fall back to gRPC.</summary>
    Tcp,
}

/// <summary>How this worker was started.</summary>
public sealed record WorkerOptions
{
    public required Uri Coordinator { get; init; }

    public required string Token { get; init; }

    /// <summary>For an https:// coordinator: a private CA to trust and a client certificate; null: the system's roots, no client certificate.</summary>
    public ClientTls? Tls { get; init; }

    public required string Name { get; init; }

    /// <summary>ONNX Runtime threads, as many as it really uses (what the coordinator is told): see <see cref="ThreadsFor"/>.</summary>
    public int Threads { get; init; }

    public string Device { get; init; } = "cpu";

    public WorkerTransport Transport { get; init; } = WorkerTransport.Auto;

    /// <summary>How long to keep trying to join, and how long the coordinator may be silent before this worker gives up.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long to keep trying to join again when the coordinator vanished or was restarted; zero: exit at once.</summary>
    public TimeSpan RejoinTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>
    /// --threads as a count: N as given, 0 for every core this process may use (what .NET counts, which
    /// honours a container's CPU limit), passed to ONNX Runtime as such so the number reported is the number used.
    /// </summary>
    public static int ThreadsFor(int requested, int cores)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(requested);
        return requested > 0 ? requested : Math.Max(1, cores);
    }
}

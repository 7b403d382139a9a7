using System.Net;

namespace Distributed.Coordinator.Distributed;

/// <summary>Where and how the coordinator listens.</summary>
public sealed record CoordinatorEndpoint(IPAddress Address, int Port)
{
    /// <summary>null: cleartext HTTP/2.</summary>
    public ServerTls? Tls { get; init; }

    /// <summary>
    /// A second port on the same address, always cleartext, that answers grpc.health.v1 Check and refuses
    /// everything else: Kubernetes' grpc probes speak only cleartext HTTP/2, so a TLS port cannot be probed. null: none.
    /// </summary>
    public int? HealthPort { get; init; }

    /// <summary>Where the host's own logs go (the run's loggers); null: the console.</summary>
    public ILoggerFactory? Loggers { get; init; }

    /// <summary>Offer workers on this host the shared-memory data plane (<see cref="SharedMemoryPlane"/>); false: gRPC for all.</summary>
    public bool SharedMemory { get; init; } = true;

    /// <summary>Offer workers that ask the raw TCP data plane (<see cref="TcpDataPlane"/>; never under TLS); false: gRPC for the workers on other hosts.</summary>
    public bool TcpDataPlane { get; init; } = true;

    /// <summary>The TCP data plane's port on <see cref="Address"/> (0: any free port).</summary>
    public int DataPort { get; init; }

    /// <summary>Workers the run expects; sizes the connection limit.</summary>
    public int Workers { get; init; }

    /// <summary>
    /// Connections accepted at once: a worker holds one (its HTTP/2 client may open a second under
    /// load), a dropped worker's can linger until its pings time out, and probes come and go.
    /// </summary>
    public int MaxConnections => Math.Max(64, 2 * Workers + 16);
}

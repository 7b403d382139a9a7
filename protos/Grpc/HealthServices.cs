namespace Distributed.Protocol;

/// <summary>
/// The grpc.health.v1 service names the coordinator and the worker answer. "" (the whole process) is
/// SERVING only while it can do its part of the run: a readiness probe. <see cref="Liveness"/> runs only
/// a check of the same name that always passes, so it is SERVING whenever the process answers at all: a
/// liveness probe, which must not restart a worker merely waiting for the others to join or for its
/// coordinator to come back.
/// </summary>
public static class HealthServices
{
    public const string Liveness = "liveness";
}

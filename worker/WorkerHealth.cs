using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Distributed.Worker;

/// <summary>
/// What grpc.health.v1 reports for this worker: NOT_SERVING until it has joined and holds the model,
/// SERVING while it trains with a reachable coordinator, NOT_SERVING once it has lost the coordinator.
/// </summary>
public sealed class WorkerHealth : IHealthCheck
{
    private volatile string? _problem = "starting: not joined yet";

    public void Serving() => _problem = null;

    public void NotServing(string why) => _problem = why;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        => Task.FromResult(_problem is { } problem ? HealthCheckResult.Unhealthy(problem) : HealthCheckResult.Healthy());
}

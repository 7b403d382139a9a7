using Distributed.Protocol;
using Distributed.Protocol.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Distributed.Tests.Cluster;

/// <summary>
/// What Kubernetes' grpc probes see (cleartext HTTP/2, grpc.health.v1 Check, no token): the TLS
/// coordinator's --health-port answers Check and nothing else; the "liveness" service stays SERVING
/// while a worker is not ready, so a liveness probe does not restart a worker that is merely waiting.
/// </summary>
public sealed class ProbeTests : IDisposable
{
    private readonly ClusterRun _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public async Task A_TLS_coordinator_answers_probes_in_cleartext_on_its_health_port_and_nothing_else()
    {
        var certificates = new TestCertificates(_run.Folder("tls"));
        var (certificate, key) = certificates.Server("coordinator", "localhost");
        var (port, healthPort) = (ClusterProcess.FreePort(), ClusterProcess.FreePort());
        using var coordinator = ClusterProcess.Coordinator(_run.Token,
            ["serve", "--port", port.ToString(), "--health-port", healthPort.ToString(), "--workers", "1", "--tls-cert", certificate, "--tls-key", key,
                .. _run.RunArguments("run")]);
        await coordinator.WaitFor($"Coordinator listening on https://127.0.0.1:{port}/, health checks on http://127.0.0.1:{healthPort}", TimeSpan.FromSeconds(30));

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await Check(healthPort, ""));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await Check(healthPort, HealthServices.Liveness));

        // The run's calls never go over the cleartext port, even with the right token.
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{healthPort}");
        var refused = await Assert.ThrowsAsync<RpcException>(() => new Protocol.V1.Coordinator.CoordinatorClient(channel).JoinAsync(
            new JoinRequest { ProtocolVersion = ProtocolVersion._2, WorkerName = "cleartext", Device = "cpu", Threads = 1 },
            new Metadata { { RunToken.Header, _run.Token } }, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Contains("serves only /grpc.health.v1.Health/Check", refused.Status.Detail);
        Assert.DoesNotContain("Worker cleartext", coordinator.Output);
    }

    [Fact]
    public async Task A_waiting_worker_is_not_ready_but_alive()
    {
        var healthPort = ClusterProcess.FreePort();
        // Nothing listens at the coordinator's address: the worker keeps trying to join.
        using var worker = ClusterProcess.Worker(_run.Token, ClusterProcess.FreePort(), healthPort, "waiting", "--timeout", "60");
        await worker.WaitFor("Coordinator not reachable yet", TimeSpan.FromSeconds(30));

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, await Check(healthPort, ""));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await Check(healthPort, HealthServices.Liveness));
    }

    private static async Task<HealthCheckResponse.Types.ServingStatus> Check(int port, string service)
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = service }, deadline: DateTime.UtcNow.AddSeconds(10));
        return reply.Status;
    }
}

using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Distributed.Tests.Cluster;

/// <summary>grpc.health.v1 on the coordinator and on each worker, as Kubernetes probes would see it.</summary>
public sealed class HealthTests : IDisposable
{
    private readonly ClusterRun _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public async Task Coordinator_and_workers_serve_and_a_worker_without_coordinator_does_not()
    {
        var port = ClusterProcess.FreePort();
        int[] healthPorts = [ClusterProcess.FreePort(), ClusterProcess.FreePort()];
        using var coordinator = ClusterProcess.Coordinator(_run.Token,
            ["serve", "--port", port.ToString(), "--bind", "127.0.0.1", "--workers", "2", "--timeout", "3", .. _run.RunArguments("run", "num_epochs=1000")]);
        await coordinator.WaitFor("Coordinator listening", TimeSpan.FromSeconds(30));
        using var first = ClusterProcess.Worker(_run.Token, port, healthPorts[0], "w0", "--timeout", "3", "--rejoin-timeout", "2");
        using var second = ClusterProcess.Worker(_run.Token, port, healthPorts[1], "w1", "--timeout", "3", "--rejoin-timeout", "0");
        await coordinator.WaitFor("All 2 workers joined", TimeSpan.FromSeconds(30));

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await Status(port));
        foreach (var healthPort in healthPorts)
        {
            await Eventually(healthPort, HealthCheckResponse.Types.ServingStatus.Serving, TimeSpan.FromSeconds(20));
        }

        coordinator.Kill();
        // Within the 3 s timeout (plus a heartbeat), the workers report that they lost their coordinator.
        await Eventually(healthPorts[0], HealthCheckResponse.Types.ServingStatus.NotServing, TimeSpan.FromSeconds(10));
        // One tries to rejoin for its --rejoin-timeout, the other (0) gives up at once; both exit 3.
        Assert.Equal(3, await first.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains("Trying to rejoin for up to --rejoin-timeout 2 s", first.Output);
        Assert.Contains("The worker tried for --rejoin-timeout 2 s. Exiting", first.Output);
        Assert.Equal(3, await second.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains("Lost the coordinator", second.Output);
        Assert.DoesNotContain("Trying to rejoin", second.Output);
    }

    private static async Task Eventually(int port, HealthCheckResponse.Types.ServingStatus expected, TimeSpan timeout)
    {
        var giveUp = DateTime.UtcNow + timeout;
        var last = HealthCheckResponse.Types.ServingStatus.Unknown;
        while (DateTime.UtcNow < giveUp)
        {
            last = await Status(port);
            if (last == expected)
            {
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail($"Health on port {port} stayed {last}, expected {expected}.");
    }

    private static async Task<HealthCheckResponse.Types.ServingStatus> Status(int port)
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        try
        {
            var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
            return reply.Status;
        }
        catch (Grpc.Core.RpcException)
        {
            return HealthCheckResponse.Types.ServingStatus.Unknown;
        }
    }
}

using System.Net;
using System.Net.Sockets;

namespace Distributed.Tests.Cluster;

/// <summary>A worker that cannot start says why in one line and exits with code 2, before it joins anything.</summary>
public sealed class WorkerStartTests
{
    private const string Token = "worker-start-tests";

    [Fact]
    public async Task A_health_port_in_use_is_named_with_the_fix()
    {
        using var taken = new TcpListener(IPAddress.Any, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        using var worker = ClusterProcess.Worker(Token, ClusterProcess.FreePort(), port, "w0");

        Assert.Equal(2, await worker.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains($"worker: --health-port {port} is in use; pick another port or 0 for any free one", Lines(worker));
        Assert.DoesNotContain("could not reach", worker.Output);
        Assert.DoesNotContain("   at ", worker.Output);
    }

    [Fact]
    public async Task A_coordinator_that_is_not_there_is_named_after_the_join_timeout()
    {
        var port = ClusterProcess.FreePort();

        using var worker = ClusterProcess.Worker(Token, port, 0, "w0", "--timeout", "2");

        Assert.Equal(2, await worker.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains($"worker: could not reach http://127.0.0.1:{port} (connection refused); is the coordinator running? The worker tried for --timeout 2 s",
            Lines(worker));
        Assert.DoesNotContain("   at ", worker.Output);
    }

    private static string[] Lines(ClusterProcess process) => process.Output.Split('\n', StringSplitOptions.TrimEntries);
}

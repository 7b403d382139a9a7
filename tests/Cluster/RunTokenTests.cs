using Distributed.Protocol;
using Distributed.Protocol.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Distributed.Tests.Cluster;

/// <summary>
/// The coordinator checks the run token on a request's headers, before routing and before its body:
/// no spelling of a path gets round it, no stranger's body is read, and health stays open for probes.
/// </summary>
public sealed class RunTokenTests : IDisposable
{
    private readonly ClusterRun _run = new();

    public void Dispose() => _run.Dispose();

    private async Task<(ClusterProcess Coordinator, int Port)> Serve()
    {
        var port = ClusterProcess.FreePort();
        var coordinator = ClusterProcess.Coordinator(_run.Token,
            ["serve", "--port", port.ToString(), "--workers", "1", "--timeout", "5", .. _run.RunArguments("run")]);
        await coordinator.WaitFor("Coordinator listening", TimeSpan.FromSeconds(30));
        return (coordinator, port);
    }

    private static JoinRequest Join => new() { ProtocolVersion = ProtocolVersion._2, WorkerName = "intruder", Device = "cpu", Threads = 1 };

    [Fact]
    public async Task Without_the_token_no_spelling_of_a_path_is_answered_but_health()
    {
        var (coordinator, port) = await Serve();
        using var _ = coordinator;
        using var http = RawGrpc.Client();
        string[] paths =
        [
            "/Distributed.v1.Coordinator/Join", "/DISTRIBUTED.V1.COORDINATOR/JOIN", "/distributed%2Ev1.Coordinator/Join",
            "/%64istributed.v1.Coordinator/Join", "/distributed.v1.Coordinator%2FJoin", "/distributed.v1.Coordinator/FetchState", "/no.such.Service/Call",
        ];

        foreach (var path in paths)
        {
            using var response = await http.SendAsync(RawGrpc.Request(port, path, new ByteArrayContent(RawGrpc.Frame(Join)), token: null));
            var body = await response.Content.ReadAsByteArrayAsync();
            Assert.True(RawGrpc.Status(response) == "16" && body.Length == 0, $"{path}: grpc-status {RawGrpc.Status(response)}, {body.Length} bytes of body");
            Assert.Contains("--token", response.Headers.GetValues("grpc-message").Single());
        }

        await coordinator.WaitFor("Refused /no.such.Service/Call from 127.0.0.1:\\d+: no run token", TimeSpan.FromSeconds(5));
        Assert.Contains("Refused /Distributed.v1.Coordinator/Join from", coordinator.Output);
        Assert.DoesNotContain("joined", coordinator.Output);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving,
            (await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10))).Status);
        // With the token, the same odd spelling reaches Join: what the check above kept out.
        using var admitted = await http.SendAsync(RawGrpc.Request(port, paths[0], new ByteArrayContent(RawGrpc.Frame(Join)), _run.Token));
        var reply = JoinReply.Parser.ParseFrom((await admitted.Content.ReadAsByteArrayAsync())[5..]);
        Assert.Equal("0", RawGrpc.Status(admitted));
        Assert.NotEmpty(reply.ConfigJson);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-the-token")]
    public async Task A_stranger_with_a_large_body_is_refused_on_its_headers_while_the_body_is_still_unsent(string? token)
    {
        var (coordinator, port) = await Serve();
        using var _ = coordinator;
        using var http = RawGrpc.Client();
        var body = new RawGrpc.EndlessBody(announced: 16 << 20);

        using var response = await http.SendAsync(RawGrpc.Request(port, "/distributed.v1.Coordinator/Join", body, token), HttpCompletionOption.ResponseHeadersRead)
            .WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal("16", RawGrpc.Status(response));   // the body never ends, so this came from its headers
        await coordinator.WaitFor($"Refused /distributed.v1.Coordinator/Join from .*{(token is null ? "no run token" : "wrong run token")}", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task An_oversized_control_message_is_refused_even_with_the_token()
    {
        var (coordinator, port) = await Serve();
        using var _ = coordinator;
        using var connection = new CoordinatorConnection(new Uri($"http://127.0.0.1:{port}"), _run.Token);
        var request = Join;
        request.WorkerName = new string('x', 200_000);

        var error = await Assert.ThrowsAsync<RpcException>(() => connection.Client.JoinAsync(request, deadline: DateTime.UtcNow.AddSeconds(20)).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        await coordinator.WaitFor("Refused /distributed.v1.Coordinator/Join from .*: a \\d+-byte message, over the control-call limit", TimeSpan.FromSeconds(5));
        Assert.DoesNotContain("joined", coordinator.Output);
        // An ordinary join on the same connection still works.
        Assert.NotEmpty((await connection.Client.JoinAsync(Join, deadline: DateTime.UtcNow.AddSeconds(20))).WorkerId);
    }
}

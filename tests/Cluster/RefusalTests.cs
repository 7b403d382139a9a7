using System.Runtime.InteropServices;
using Distributed.Models.Checkpoints;
using Distributed.Protocol;
using Distributed.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Distributed.Tests.Cluster;

/// <summary>
/// Bad peers are refused with a clear gRPC status and a log line naming them, and the run goes on
/// with its real workers: no crash, no poisoned model.
/// </summary>
public sealed class RefusalTests : IDisposable
{
    private readonly ClusterRun _run = new();

    public void Dispose() => _run.Dispose();

    private async Task<(ClusterProcess Coordinator, int Port)> Serve(int workers)
    {
        var port = ClusterProcess.FreePort();
        var coordinator = ClusterProcess.Coordinator(_run.Token,
            ["serve", "--port", port.ToString(), "--bind", "127.0.0.1", "--workers", workers.ToString(), "--timeout", "5", .. _run.RunArguments("run")]);
        await coordinator.WaitFor("Coordinator listening", TimeSpan.FromSeconds(30));
        return (coordinator, port);
    }

    [Fact]
    public async Task A_wrong_token_is_refused()
    {
        var (coordinator, port) = await Serve(1);
        using var _ = coordinator;
        using var connection = FakeWorker.Connect(port, "not-the-token");

        var error = await Assert.ThrowsAsync<RpcException>(() => connection.Client.JoinAsync(FakeWorker.Join()).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        await coordinator.WaitFor("Refused /distributed.v1.Coordinator/Join from .*wrong run token", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_wrong_protocol_version_is_refused()
    {
        var (coordinator, port) = await Serve(1);
        using var _ = coordinator;
        using var connection = FakeWorker.Connect(port, _run.Token);

        var request = FakeWorker.Join();
        request.ProtocolVersion = ProtocolVersion._1;   // a worker of the release before the workers held the state
        var error = await Assert.ThrowsAsync<RpcException>(() => connection.Client.JoinAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("Protocol version", error.Status.Detail);
    }

    [Fact]
    public async Task A_mismatched_model_fingerprint_is_refused()
    {
        var (coordinator, port) = await Serve(1);
        using var _ = coordinator;
        using var connection = FakeWorker.Connect(port, _run.Token);
        var client = connection.Client;
        var (join, assignment) = await FakeWorker.JoinAndAssign(client);

        using var call = client.AllReduce();
        await call.RequestStream.WriteAsync(FakeWorker.Bucket(join, assignment, new byte[16], fingerprint: new string('0', 64)));
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        await coordinator.WaitFor(@"Refused rank 0 \(intruder.*model fingerprint 0{64} differs", TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData("length")]
    [InlineData("nan")]
    public async Task A_bad_gradient_is_refused_and_the_run_goes_on_with_the_real_worker(string problem)
    {
        var (coordinator, port) = await Serve(2);
        using var _ = coordinator;
        using var connection = FakeWorker.Connect(port, _run.Token);
        var client = connection.Client;
        var joined = client.JoinAsync(FakeWorker.Join()).ResponseAsync;
        using var worker = ClusterProcess.Worker(_run.Token, port, 0, "honest");
        var join = await joined;
        var assignment = await FakeWorker.NextTrainAssignment(client, join);

        var elements = FakeWorker.FirstBucketElements(_run.Config, join);
        var data = new float[problem == "length" ? elements - 1 : elements];
        if (problem == "nan")
        {
            data[3] = float.NaN;
        }
        using var call = client.AllReduce();
        await call.RequestStream.WriteAsync(FakeWorker.Bucket(join, assignment, MemoryMarshal.AsBytes(data.AsSpan()).ToArray(), join.ModelFingerprint));
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("intruder", error.Status.Detail);
        Assert.Contains(problem == "nan" ? "NaN or infinity" : "it must be", error.Status.Detail);
        await coordinator.WaitFor("Refused a gradient: rank \\d \\(intruder", TimeSpan.FromSeconds(5));
        // The honest worker finishes the run alone, with a finite model.
        Assert.Equal(0, await coordinator.WaitForExit(TimeSpan.FromSeconds(120)));
        Assert.Contains("Done", coordinator.Output);
        var weights = CheckpointStore.Load(_run.Folder("run")).ModelTensors.SelectMany(t => t.Data.ToArray());
        Assert.All(weights, w => Assert.True(float.IsFinite(w)));
    }

    [Fact]
    public async Task A_worker_that_beats_but_never_sends_its_gradient_is_dropped_after_the_step_timeout()
    {
        var port = ClusterProcess.FreePort();
        using var coordinator = ClusterProcess.Coordinator(_run.Token,
            ["serve", "--port", port.ToString(), "--bind", "127.0.0.1", "--workers", "2", "--timeout", "5", "--step-timeout", "3", .. _run.RunArguments("run")]);
        await coordinator.WaitFor("Coordinator listening", TimeSpan.FromSeconds(30));
        using var connection = FakeWorker.Connect(port, _run.Token);
        var client = connection.Client;
        var join = await client.JoinAsync(FakeWorker.Join());
        using var beating = new CancellationTokenSource();
        var heartbeats = Task.Run(async () =>
        {
            while (!beating.IsCancellationRequested)
            {
                await client.HeartbeatAsync(new HeartbeatRequest { WorkerId = join.WorkerId });
                await Task.Delay(300);
            }
        });
        using var worker = ClusterProcess.Worker(_run.Token, port, 0, "honest");
        await FakeWorker.NextTrainAssignment(client, join);   // asks for work like a real worker, then never delivers

        await coordinator.WaitFor(@"Lost rank \d \(intruder.*alive but still owes its gradient .*for step 0", TimeSpan.FromSeconds(30));
        Assert.Equal(0, await coordinator.WaitForExit(TimeSpan.FromSeconds(120)));
        beating.Cancel();
        await heartbeats.ContinueWith(_ => { });
    }
}

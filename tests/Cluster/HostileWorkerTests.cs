using Distributed.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Distributed.Tests.Cluster;

/// <summary>
/// Peers that hold the run token but misbehave, against real coordinator processes: they cannot act
/// for another worker, hold a run up by joining and going silent, keep streams open for nothing, or
/// end the run with one bad loss.
/// </summary>
public sealed class HostileWorkerTests : IDisposable
{
    private static readonly TimeSpan Start = TimeSpan.FromSeconds(60);
    private readonly ClusterRun _run = new();

    public void Dispose() => _run.Dispose();

    private Task<(ClusterProcess Coordinator, int Port)> Serve(int workers, params string[] overrides) => Serve(workers, [], overrides);

    private async Task<(ClusterProcess Coordinator, int Port)> Serve(int workers, string[] options, string[] overrides)
    {
        var port = ClusterProcess.FreePort();
        var coordinator = ClusterProcess.Coordinator(_run.Token,
            ["serve", "--port", port.ToString(), "--workers", workers.ToString(), "--timeout", "5", .. options, .. _run.RunArguments("run", overrides)]);
        await coordinator.WaitFor("Coordinator listening", Start);
        return (coordinator, port);
    }

    [Fact]
    public async Task Every_worker_scoped_call_in_another_workers_name_is_refused_and_the_victim_trains_on()
    {
        var (coordinator, port) = await Serve(1, "num_epochs=1000");
        using var _ = coordinator;
        using var honest = ClusterProcess.Worker(_run.Token, port, 0, "honest");
        var victim = (await coordinator.WaitFor(@"Worker honest \(([0-9a-f]+)\) joined", Start)).Groups[1].Value;
        await coordinator.WaitFor(@"Generation 1: 1 workers", Start);
        using var connection = FakeWorker.Connect(port, _run.Token);
        var intruder = connection.Client;
        await intruder.JoinAsync(FakeWorker.Join());   // the intruder's own secret now goes with every call

        var calls = new (string Method, Func<Task> Call)[]
        {
            ("Heartbeat", () => intruder.HeartbeatAsync(new HeartbeatRequest { WorkerId = victim }).ResponseAsync),
            ("NextAssignment", () => intruder.NextAssignmentAsync(new AssignmentRequest { WorkerId = victim }).ResponseAsync),
            ("FetchState", () => intruder.FetchState(new StateRequest { WorkerId = victim }).ResponseStream.MoveNext(CancellationToken.None)),
            ("FetchShard", () => intruder.FetchShard(new ShardRequest { WorkerId = victim, Generation = 1 }).ResponseStream.MoveNext(CancellationToken.None)),
            ("ReportValidation", () => intruder.ReportValidationAsync(new ValidationReport { WorkerId = victim, Generation = 1, LossSum = 0.123, Tokens = 8 }).ResponseAsync),
            ("Leave", () => intruder.LeaveAsync(new LeaveRequest { WorkerId = victim, Reason = "forged" }).ResponseAsync),
            ("AllReduce", async () =>
            {
                using var call = intruder.AllReduce();
                await call.RequestStream.WriteAsync(new GradientBucket { WorkerId = victim, Generation = 1, Data = ByteString.CopyFrom(new byte[16]) });
                await call.ResponseStream.MoveNext(CancellationToken.None);
            }),
        };
        foreach (var (method, call) in calls)
        {
            var error = await Assert.ThrowsAsync<RpcException>(call);
            Assert.True(error.StatusCode == StatusCode.Unauthenticated, $"{method}: {error.Status}");
        }

        // The victim was neither dropped nor blamed, and its run goes on until stopped.
        await Task.Delay(1000);
        Assert.DoesNotContain("Lost rank 0 (honest", coordinator.Output);
        Assert.False(honest.HasExited);
        Assert.Matches($"Refused a call in the name of {victim}", coordinator.Output);
        coordinator.Terminate();
        Assert.Equal(0, await coordinator.WaitForExit(Start));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Shared_memory_goes_only_to_same_host_workers_in_owner_only_files_and_a_made_up_proof_is_refused()
    {
        var (coordinator, port) = await Serve(2);
        using var _ = coordinator;
        using var connection = FakeWorker.Connect(port, _run.Token);
        var local = await connection.Client.JoinAsync(new JoinRequest(FakeWorker.Join("local")) { BootId = Protocol.HostIdentity.BootId() });
        using var remoteConnection = FakeWorker.Connect(port, _run.Token);
        var remote = await remoteConnection.Client.JoinAsync(new JoinRequest(FakeWorker.Join("remote")) { BootId = "another-machine" });

        Assert.Null(remote.SharedMemory);
        Assert.NotNull(local.SharedMemory);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(local.SharedMemory.GradientFile));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
            File.GetUnixFileMode(Path.GetDirectoryName(local.SharedMemory.GradientFile)!));

        // A worker that cannot open the file can only guess its proof.
        using var call = connection.Client.AllReduce();
        await call.RequestStream.WriteAsync(new GradientBucket
        {
            WorkerId = local.WorkerId, Generation = 1, SharedBuckets = 1, SharedMemoryProof = ByteString.CopyFrom(new byte[32]),
        });
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }

    [Fact]
    public async Task Workers_that_join_and_go_silent_never_hold_up_or_end_the_run()
    {
        var (coordinator, port) = await Serve(1);
        using var _ = coordinator;
        using var ghosts = FakeWorker.Connect(port, _run.Token);
        await ghosts.Client.JoinAsync(FakeWorker.Join("ghost-1"));
        await ghosts.Client.JoinAsync(FakeWorker.Join("ghost-2"));
        using var honest = ClusterProcess.Worker(_run.Token, port, 0, "honest");

        Assert.Equal(0, await coordinator.WaitForExit(TimeSpan.FromSeconds(120)));
        Assert.Matches(@"Generation 1: 1 workers from step 0 \(epoch 0\): rank 0 \(honest", coordinator.Output);
        Assert.DoesNotContain("rank 0 (ghost", coordinator.Output);
        Assert.Contains("Done", coordinator.Output);
    }

    [Fact]
    public async Task An_all_reduce_stream_opened_for_nothing_is_closed_after_the_step_timeout()
    {
        var (coordinator, port) = await Serve(2, ["--step-timeout", "5"], []);
        using var _ = coordinator;
        using var connection = FakeWorker.Connect(port, _run.Token);
        await connection.Client.JoinAsync(FakeWorker.Join());

        using var idle = connection.Client.AllReduce(deadline: DateTime.UtcNow.AddSeconds(30));
        var error = await Assert.ThrowsAsync<RpcException>(() => idle.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains("no gradient bucket for 5 s", error.Status.Detail);
    }

    [Fact]
    public async Task A_name_too_long_for_a_log_line_is_refused()
    {
        var (coordinator, port) = await Serve(1);
        using var _ = coordinator;
        using var connection = FakeWorker.Connect(port, _run.Token);

        var error = await Assert.ThrowsAsync<RpcException>(() => connection.Client.JoinAsync(FakeWorker.Join(new string('n', 10_000))).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("worker_name must be 1 to 64 characters", error.Status.Detail);
        Assert.DoesNotContain(new string('n', 100), coordinator.Output);
    }

    [Fact]
    public async Task One_workers_nan_loss_drops_that_worker_and_the_run_finishes_with_the_other()
    {
        var (coordinator, port) = await Serve(2);
        using var _ = coordinator;
        using var connection = FakeWorker.Connect(port, _run.Token);
        var joining = FakeWorker.JoinAndAssign(connection.Client);
        using var honest = ClusterProcess.Worker(_run.Token, port, 0, "honest");
        var (join, assignment) = await joining;

        using var call = connection.Client.AllReduce();
        var zeros = new byte[FakeWorker.FirstBucketElements(_run.Config, join) * sizeof(float)];
        await call.RequestStream.WriteAsync(FakeWorker.Bucket(join, assignment, zeros, join.ModelFingerprint, loss: float.NaN));

        await coordinator.WaitFor(@"Lost rank \d \(intruder[^)]*\): its loss at step 0 is not finite", Start);
        Assert.Equal(0, await coordinator.WaitForExit(TimeSpan.FromSeconds(120)));
        Assert.Contains("Done", coordinator.Output);
        Assert.DoesNotContain("diverged", coordinator.Output);
    }
}

using System.Runtime.InteropServices;
using Distributed.Protocol.V1;
using Distributed.Protocol;
using Grpc.Core;

namespace Distributed.Coordinator.Distributed;

/// <summary>The distributed.v1 Coordinator service: thin RPC handlers over <see cref="DistributedRun"/>.</summary>
public sealed class CoordinatorService(DistributedRun run, ILogger<CoordinatorService> log) : Protocol.V1.Coordinator.CoordinatorBase
{
    public override Task<JoinReply> Join(JoinRequest request, ServerCallContext context)
        => Task.FromResult(run.Join(request));

    public override Task<HeartbeatReply> Heartbeat(HeartbeatRequest request, ServerCallContext context)
        => Task.FromResult(new HeartbeatReply { Known = run.Heartbeat(request.WorkerId) });

    public override Task<Assignment> NextAssignment(AssignmentRequest request, ServerCallContext context)
        => Task.FromResult(run.NextAssignment(request.WorkerId));

    public override async Task FetchState(StateRequest request, IServerStreamWriter<StateChunk> responseStream, ServerCallContext context)
    {
        run.Slot(request.WorkerId);
        var (step, tensors) = run.SnapshotState();
        foreach (var (name, data) in tensors)
        {
            var bytes = MemoryMarshal.AsBytes(data.AsSpan()).ToArray();
            foreach (var (offset, chunk, sha256) in Chunks.Of(bytes))
            {
                await responseStream.WriteAsync(new StateChunk
                {
                    Step = step, Tensor = name, Offset = offset / sizeof(float), Data = chunk, TotalElements = data.Length, Sha256 = sha256,
                }, context.CancellationToken);
            }
        }
    }

    public override async Task FetchShard(ShardRequest request, IServerStreamWriter<ShardChunk> responseStream, ServerCallContext context)
    {
        var (train, validation) = run.Shard(request.WorkerId, request.Generation);
        foreach (var (split, tokens) in new[] { (ShardChunk.Types.Split.Train, train), (ShardChunk.Types.Split.Validation, validation) })
        {
            var bytes = MemoryMarshal.AsBytes(tokens.AsSpan()).ToArray();
            foreach (var (offset, chunk, sha256) in Chunks.Of(bytes))
            {
                await responseStream.WriteAsync(new ShardChunk
                {
                    Split = split, Tokens = chunk, Offset = offset / sizeof(int), TotalTokens = tokens.Length, Sha256 = sha256,
                }, context.CancellationToken);
            }
        }
    }

    public override async Task AllReduce(IAsyncStreamReader<GradientBucket> requestStream, IServerStreamWriter<ReduceReply> responseStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken))
        {
            return;
        }
        var first = requestStream.Current;
        var workerId = first.WorkerId;
        var (replies, abort) = run.OpenStream(workerId, first.Generation, first.ModelFingerprint);
        // One writer per stream: reduced buckets go out in order as soon as the run posts them.
        var writer = Task.Run(async () =>
        {
            await foreach (var reply in replies.ReadAllAsync(context.CancellationToken))
            {
                await responseStream.WriteAsync(reply, context.CancellationToken);
            }
        });
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(abort, context.CancellationToken);
        try
        {
            var bucket = first;
            do
            {
                bucket = requestStream.Current;
                run.AcceptBucket(workerId, bucket);
            }
            while (await requestStream.MoveNext(reading.Token));
            run.CloseStream(workerId);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
        {
            run.Drop(workerId, e.Status.Detail);
            throw;
        }
        catch (Exception e) when (abort.IsCancellationRequested && e is OperationCanceledException or IOException or RpcException)
        {
            // Membership changed: let the worker read what was already sent (e.g. the last step's
            // closing message), then tell it to ask for a new assignment.
            await writer.ConfigureAwait(false);
            throw new RpcException(new Status(StatusCode.Aborted, "The workers changed; ask for a new assignment."));
        }
        catch (Exception e) when (e is IOException or OperationCanceledException || e is RpcException { StatusCode: StatusCode.Cancelled })
        {
            run.Drop(workerId, $"its all-reduce stream broke ({e.GetType().Name}: {e.Message})");
            throw;
        }
        await writer;
    }

    public override Task<ValidationAck> ReportValidation(ValidationReport request, ServerCallContext context)
    {
        run.ReportValidation(request.WorkerId, request);
        return Task.FromResult(new ValidationAck());
    }

    public override Task<LeaveReply> Leave(LeaveRequest request, ServerCallContext context)
    {
        log.LogInformation("Worker {Worker} leaves: {Reason}", request.WorkerId, request.Reason);
        run.Leave(request.WorkerId, request.Reason);
        return Task.FromResult(new LeaveReply());
    }
}

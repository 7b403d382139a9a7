using System.Runtime.InteropServices;
using Distributed.Models.Gpt;
using Distributed.Protocol;
using Distributed.Protocol.V1;
using Grpc.Core;

namespace Distributed.Coordinator.Distributed;

/// <summary>
/// The distributed.v1 Coordinator service: translates between the wire and <see cref="DistributedRun"/>.
/// Every call after Join names its worker and proves it with that worker's secret (the
/// x-worker-secret header); the run's refusals become statuses in <see cref="RefusalInterceptor"/>.
/// </summary>
public sealed class CoordinatorService(DistributedRun run, ReducedReplies replies, SharedMemoryPlane sharedMemory, TcpDataPlane tcp,
    TcpReducedValues tcpValues, ILogger<CoordinatorService> log)
    : Protocol.V1.Coordinator.CoordinatorBase
{
    public override Task<JoinReply> Join(JoinRequest request, ServerCallContext context)
    {
        if (request.ProtocolVersion != ProtocolVersion._2)
        {
            throw new Refusal(RefusalKind.Incompatible,
                $"Protocol version {request.ProtocolVersion} is not supported; this coordinator speaks {ProtocolVersion._2}. Run the same release on every machine.").ToException();
        }
        var grant = run.Join(request.WorkerName, request.Device, request.Threads, Address(context));
        return Task.FromResult(new JoinReply
        {
            WorkerId = grant.Worker.Id,
            WorkerSecret = grant.Worker.Secret,
            SharedMemory = sharedMemory.Offer(grant.Worker, request.BootId),
            Tcp = tcp.Offer(grant.Worker, request.TcpDataPlane),
            RunId = grant.RunId,
            ConfigJson = grant.ConfigJson,
            TokenizerJson = grant.TokenizerJson,
            ModelFingerprint = grant.Fingerprint,
            HeartbeatIntervalMs = (int)grant.HeartbeatInterval.TotalMilliseconds,
            TimeoutMs = (int)grant.Timeout.TotalMilliseconds,
            Workers = grant.Workers,
        });
    }

    /// <summary>The caller's IP address (an IPv4 one as such, also on a dual-stack socket).</summary>
    private static string? Address(ServerCallContext context)
        => context.GetHttpContext().Connection.RemoteIpAddress is { } ip ? (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString() : null;

    public override Task<HeartbeatReply> Heartbeat(HeartbeatRequest request, ServerCallContext context)
        => Task.FromResult(new HeartbeatReply { Known = run.Heartbeat(request.WorkerId, Secret(context)), RunId = run.RunId });

    public override Task<Assignment> NextAssignment(AssignmentRequest request, ServerCallContext context)
    {
        var next = run.NextAssignment(Caller(request.WorkerId, context), request.StateStep);
        return Task.FromResult(new Assignment
        {
            Kind = next.Kind switch
            {
                AssignmentKind.Train => Assignment.Types.Kind.Train,
                AssignmentKind.Wait => Assignment.Types.Kind.Wait,
                AssignmentKind.UploadState => Assignment.Types.Kind.UploadState,
                _ => Assignment.Types.Kind.Stop,
            },
            Generation = next.Generation,
            Rank = next.Rank,
            WorldSize = next.WorldSize,
            Epoch = next.Epoch,
            FirstStep = next.FirstStep,
            Steps = next.Steps,
            BatchSize = next.BatchSize,
            GlobalBatchSize = next.GlobalBatchSize,
            ValidateAtEnd = next.ValidateAtEnd,
            RetryAfterMs = (int)next.RetryAfter.TotalMilliseconds,
            Reason = next.Reason,
            InitialState = next.InitialState,
        });
    }

    public override async Task FetchState(StateRequest request, IServerStreamWriter<StateChunk> responseStream, ServerCallContext context)
    {
        using var download = await run.BeginStateDownload(Caller(request.WorkerId, context), context.CancellationToken);
        foreach (var (name, data) in download.Tensors)
        {
            foreach (var (offset, chunk, sha256) in Chunks.Of(new FloatBytes(data).Memory))   // the download's own copy: sent in place
            {
                await responseStream.WriteAsync(new StateChunk
                {
                    Step = download.Step, Tensor = name, Offset = offset / sizeof(float), Data = chunk, TotalElements = data.Length, Sha256 = sha256,
                }, context.CancellationToken);
            }
        }
    }

    /// <summary>A member's state, asked of it with an upload assignment: chunks into the run's buffers, each within the run's timeout.</summary>
    public override async Task<StateReceived> UploadState(IAsyncStreamReader<StateChunk> requestStream, ServerCallContext context)
    {
        try
        {
            if (!await Next(requestStream, run.Options.Timeout, context.CancellationToken, CancellationToken.None))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "An empty state upload; send the state's chunks."));
            }
            var first = requestStream.Current;
            var caller = Caller(first.WorkerId, context);
            using var upload = run.BeginStateUpload(caller, first.Step);
            for (var chunk = first; ; chunk = requestStream.Current)
            {
                if (chunk.WorkerId != caller.Id || chunk.Step != upload.Step)
                {
                    run.RejectStateUpload(caller, $"a state chunk in the name of '{Membership.Shorten(chunk.WorkerId)}' of step {chunk.Step}, in its upload of step {upload.Step}");
                }
                if (upload.Put(chunk.Tensor, chunk.Offset, chunk.Data.Span, chunk.TotalElements, chunk.Sha256) is { } problem)
                {
                    run.RejectStateUpload(caller, problem);
                }
                if (!await Next(requestStream, run.Options.Timeout, context.CancellationToken, CancellationToken.None))
                {
                    break;
                }
            }
            run.CompleteStateUpload(caller, upload);
            return new StateReceived();
        }
        catch (TimeoutException e)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, e.Message));
        }
    }

    public override async Task FetchShard(ShardRequest request, IServerStreamWriter<ShardChunk> responseStream, ServerCallContext context)
    {
        var (train, validation) = run.Shard(Caller(request.WorkerId, context), request.Generation);
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

    /// <summary>
    /// One member's all-reduce for one assignment. Its first bucket must come within the step timeout
    /// (the worker opens the stream, then computes), and later ones within twice that (a fast member
    /// also waits for the slowest, who has the step timeout to deliver): no stream is held open for nothing.
    /// </summary>
    public override async Task AllReduce(IAsyncStreamReader<GradientBucket> requestStream, IServerStreamWriter<ReduceReply> responseStream, ServerCallContext context)
    {
        try
        {
            if (!await Next(requestStream, run.Options.StepTimeout, context.CancellationToken, CancellationToken.None))
            {
                return;
            }
        }
        catch (TimeoutException e)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, e.Message));
        }
        var first = requestStream.Current;
        var caller = Caller(first.WorkerId, context);
        GrpcGradientLink control;
        IGradientLink link;
        Func<Task> receive;
        if (first.Tcp)
        {
            // The values come on the worker's data connection; the stream carries only this opening.
            TcpDataConnection connection;
            try
            {
                connection = await tcp.ConnectionAsync(caller, first.Generation, context.CancellationToken);
            }
            catch (TimeoutException e)
            {
                throw new RpcException(new Status(StatusCode.DeadlineExceeded, e.Message));
            }
            var tcpLink = new TcpGradientLink(connection, tcpValues);
            (control, link) = (tcpLink.Control, tcpLink);
            receive = () => ReceiveTcpAsync(tcpLink, caller, first.Generation, requestStream, context.CancellationToken);
        }
        else
        {
            // A stream that proves its worker opened the shared-memory file it was offered runs on shared memory.
            var shared = first.SharedMemoryProof.IsEmpty ? null
                : sharedMemory.Proven(caller, first.SharedMemoryProof.Span)
                  ?? throw new Refusal(RefusalKind.PermissionDenied, $"{caller} sent a shared-memory proof that is not its file's; leave shared_memory_proof empty to use gRPC.").ToException();
            control = shared is null ? new GrpcGradientLink(replies, "grpc") : new GrpcGradientLink(sharedMemory, "shared-memory");
            link = control;
            receive = () => ReceiveMessagesAsync(first, requestStream, control, shared, caller, context.CancellationToken);
        }
        try
        {
            run.OpenStream(caller, first.Generation, first.ModelFingerprint, link);
        }
        catch
        {
            (link as IDisposable)?.Dispose();
            throw;
        }
        // One writer per stream: reduced buckets (or only the closings) go out in order as soon as the run posts them.
        var writer = Task.Run(async () =>
        {
            await foreach (var reply in control.Replies.ReadAllAsync(context.CancellationToken))
            {
                await responseStream.WriteAsync(reply, context.CancellationToken);
            }
        });
        var sender = link is TcpGradientLink sending ? SendTcpAsync(sending, caller, context.CancellationToken) : Task.CompletedTask;
        try
        {
            await receive();
        }
        catch (Exception e) when (control.Aborted.IsCancellationRequested && e is OperationCanceledException or IOException or RpcException
                                      || e is RunRefusedException { Refusal.Kind: RefusalKind.Stale })
        {
            // The generation ended under the member: let it read what was already sent (e.g. the last
            // step's closing message), then tell it to ask for a new assignment.
            run.CloseStream(caller, link);
            await Task.WhenAny(Task.WhenAll(writer, sender), Task.Delay(run.Options.Timeout));
            throw new RpcException(new Status(StatusCode.Aborted, e is RunRefusedException refused ? refused.Message : "The workers changed; ask for a new assignment."));
        }
        catch (TimeoutException e)
        {
            run.StreamBroke(caller, link, e.Message);
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, e.Message));
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException || e is RpcException { StatusCode: not StatusCode.Aborted })
        {
            run.StreamBroke(caller, link, $"{e.GetType().Name}: {e.Message}");
            throw;
        }
        finally
        {
            // However the stream ended, the member's link ends with it (a no-op if the run already closed it).
            run.CloseStream(caller, link);
            _ = writer.ContinueWith(t => log.LogDebug("An all-reduce writer ended: {Error}", t.Exception?.GetBaseException().Message),
                TaskContinuationOptions.OnlyOnFaulted);
            if (link is TcpGradientLink closing)
            {
                // Once its last values are out (bounded), the connection closes: the worker's read ends there.
                _ = Task.WhenAny(sender, Task.Delay(run.Options.Timeout)).ContinueWith(_ => closing.Dispose(), TaskScheduler.Default);
            }
        }
        await writer;
    }

    /// <summary>The gRPC data plane: every bucket (or, on shared memory, every group of buckets) is a message of the stream.</summary>
    private async Task ReceiveMessagesAsync(GradientBucket first, IAsyncStreamReader<GradientBucket> requestStream, GrpcGradientLink link,
        SharedMemoryFile? shared, WorkerSlot caller, CancellationToken call)
    {
        for (var bucket = first; ; bucket = requestStream.Current)
        {
            if (bucket.WorkerId != caller.Id)
            {
                run.StreamBroke(caller, link, $"it sent a gradient in the name of '{Membership.Shorten(bucket.WorkerId)}'");
                throw new Refusal(RefusalKind.PermissionDenied, $"A gradient in the name of '{Membership.Shorten(bucket.WorkerId)}' on {caller}'s stream.").ToException();
            }
            if (bucket.SharedBuckets == 0)
            {
                run.AcceptBucket(caller, link, bucket.Generation, bucket.Step, bucket.Bucket, bucket.Data.Span, bucket.Loss);
            }
            else
            {
                run.AcceptSharedBuckets(caller, link, bucket.Generation, bucket.Step, bucket.Bucket, bucket.SharedBuckets,
                    SharedRange(shared, bucket.Bucket, bucket.SharedBuckets, caller, link), bucket.Loss);
            }
            if (!await Next(requestStream, 2 * run.Options.StepTimeout, call, link.Aborted))
            {
                return;
            }
        }
    }

    /// <summary>
    /// The TCP data plane: frames from the connection until the worker ends it after its assignment's
    /// last step (each within twice the step timeout, as on the stream); then the stream must end too.
    /// </summary>
    private async Task ReceiveTcpAsync(TcpGradientLink link, WorkerSlot caller, long generation, IAsyncStreamReader<GradientBucket> requestStream, CancellationToken call)
    {
        await link.ReceiveAsync(run, caller, generation, 2 * run.Options.StepTimeout, call);
        if (await Next(requestStream, run.Options.Timeout, call, link.Control.Aborted))
        {
            run.StreamBroke(caller, link, "it sent a second message on a tcp all-reduce stream");
            throw new Refusal(RefusalKind.InvalidData, $"{caller} sent a second message on a tcp all-reduce stream; the values go on the data connection.").ToException();
        }
    }

    /// <summary>The reduced values out on the member's connection; a failure to write drops the member (it can no longer get them).</summary>
    private async Task SendTcpAsync(TcpGradientLink link, WorkerSlot caller, CancellationToken call)
    {
        try
        {
            await link.SendAsync(run.Options.StepTimeout, call);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            run.StreamBroke(caller, link, $"its tcp data connection broke while sending ({e.GetType().Name}: {e.Message})");
            link.Dispose();   // ends its reader too
        }
    }

    public override Task<ValidationAck> ReportValidation(ValidationReport request, ServerCallContext context)
    {
        run.ReportValidation(Caller(request.WorkerId, context), request.Generation, request.LossSum, request.Tokens);
        return Task.FromResult(new ValidationAck());
    }

    public override Task<LeaveReply> Leave(LeaveRequest request, ServerCallContext context)
    {
        var caller = Caller(request.WorkerId, context);
        var reason = Membership.Shorten(request.Reason);
        log.LogInformation("Worker {Worker} leaves: {Reason}", caller, reason);
        run.Leave(caller, reason);
        return Task.FromResult(new LeaveReply());
    }

    /// <summary>Buckets [first, first + count) of a shared-memory member's file; a range outside it is refused.</summary>
    private Span<float> SharedRange(SharedMemoryFile? file, int first, int count, WorkerSlot caller, IGradientLink link)
    {
        var total = file is null ? 0 : DistributedBuckets.Count(file.Elements);
        if (file is null || first < 0 || count < 1 || first > total - count)
        {
            var problem = file is null
                ? $"{caller} named shared-memory buckets on a gRPC stream; send the values in data."
                : $"{caller} named shared-memory buckets {first}..{first + count - 1}, outside [0, {total}).";
            run.StreamBroke(caller, link, problem);
            throw new Refusal(RefusalKind.InvalidData, problem).ToException();
        }
        var start = DistributedBuckets.Range(first, file.Elements).Start;
        var (lastStart, lastLength) = DistributedBuckets.Range(first + count - 1, file.Elements);
        return file.Values(start, lastStart + lastLength - start);
    }

    private static string? Secret(ServerCallContext context) => context.RequestHeaders.GetValue(RunToken.WorkerSecretHeader);

    private WorkerSlot Caller(string workerId, ServerCallContext context) => run.Authenticate(workerId, Secret(context));

    /// <summary>The next message, or false at the stream's end; a <see cref="TimeoutException"/> when none comes within <paramref name="idle"/>.</summary>
    private static async Task<bool> Next<T>(IAsyncStreamReader<T> stream, TimeSpan idle, CancellationToken call, CancellationToken aborted)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(call, aborted);
        wait.CancelAfter(idle);
        try
        {
            return await stream.MoveNext(wait.Token);
        }
        catch (OperationCanceledException) when (!call.IsCancellationRequested && !aborted.IsCancellationRequested)
        {
            throw new TimeoutException(typeof(T) == typeof(GradientBucket)
                ? $"no gradient bucket for {idle.TotalSeconds:F0} s on an open all-reduce stream"
                : $"no state chunk for {idle.TotalSeconds:F0} s on an open state upload");
        }
    }
}

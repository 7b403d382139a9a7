using Distributed.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Distributed.Protocol;

/// <summary>
/// One worker's AllReduce call for one assignment: each step sends the flat gradient as
/// <see cref="DistributedBuckets"/> (the values inline or in shared memory, as its <see cref="GradientWire"/>
/// says), puts the reduced values back into it, and returns the step's closing message.
/// </summary>
public sealed class AllReduceStream : IDisposable
{
    private readonly AsyncDuplexStreamingCall<GradientBucket, ReduceReply> _call;
    private readonly string _workerId;
    private readonly long _generation;
    private readonly GradientWire _wire;
    private string _fingerprint;
    private ByteString _proof;
    private TcpGradientConnection? _tcp;

    /// <param name="modelFingerprint">Sent once, on the stream's first bucket, for the coordinator to check.</param>
    /// <param name="wire">How the values travel; not owned.</param>
    public AllReduceStream(Coordinator.CoordinatorClient client, string workerId, string modelFingerprint, long generation, GradientWire wire, CancellationToken cancel)
    {
        _call = client.AllReduce(cancellationToken: cancel);
        (_workerId, _fingerprint, _generation, _wire, _proof) = (workerId, modelFingerprint, generation, wire, wire.Proof);
    }

    /// <summary>
    /// When the last step's averaged gradient was whole in this worker's buffer
    /// (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>): the closing message, which the
    /// coordinator sends before it updates its own replica (on tcp: the later of the closing and the last value).
    /// </summary>
    public long LastBucketTimestamp { get; private set; }

    /// <summary>
    /// All-reduces one step: <paramref name="gradient"/> holds this worker's gradient on entry and the
    /// reduced gradient on return. Failures of the stream come out as <see cref="RpcException"/>s.
    /// </summary>
    public async Task<StepDone> ReduceAsync(int step, float loss, float[] gradient, CancellationToken cancel)
    {
        if (_wire is TcpGradients tcp)
        {
            return await ReduceOverTcpAsync(tcp, step, loss, gradient, cancel);
        }
        var receiving = ReceiveAsync(step, gradient, cancel);
        try
        {
            foreach (var message in _wire.Messages(gradient))
            {
                (message.WorkerId, message.ModelFingerprint, message.SharedMemoryProof) = (_workerId, _fingerprint, _proof);
                (message.Generation, message.Step, message.Loss) = (_generation, step, loss);
                // WriteAsync serializes the message before it returns: the wire may reuse its buffers for the next.
                await _call.RequestStream.WriteAsync(message, cancel);
                (_fingerprint, _proof) = ("", ByteString.Empty);
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or RpcException && !cancel.IsCancellationRequested)
        {
            // Writing fails once the call is over; the responses say why (e.g. Aborted: the workers changed).
            await receiving;
            throw new RpcException(new Status(StatusCode.Unavailable, $"the all-reduce stream broke: {e.Message}"));
        }
        return await receiving;
    }

    /// <summary>Ends the call after the assignment's last step.</summary>
    public async Task CompleteAsync(CancellationToken cancel)
    {
        _tcp?.Finish();
        await _call.RequestStream.CompleteAsync();
        while (await _call.ResponseStream.MoveNext(cancel))
        {
            // Nothing follows the last step's closing message; read to the call's status.
        }
    }

    public void Dispose()
    {
        _tcp?.Dispose();
        _call.Dispose();
    }

    /// <summary>
    /// A step on the TCP data plane: the first opens the stream with a message that says so and then the
    /// connection; the values go both ways on the connection while the stream brings the closing. Done
    /// when both are in; when either fails, the connection is closed and the stream's status (e.g.
    /// Aborted: the workers changed) is preferred as the reason.
    /// </summary>
    private async Task<StepDone> ReduceOverTcpAsync(TcpGradients tcp, int step, float loss, float[] gradient, CancellationToken cancel)
    {
        try
        {
            if (_tcp is null)
            {
                await _call.RequestStream.WriteAsync(new GradientBucket
                {
                    WorkerId = _workerId, ModelFingerprint = _fingerprint, Generation = _generation, Step = step, Tcp = true,
                }, cancel);
                _tcp = await tcp.ConnectAsync(_workerId, _generation, cancel);
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException && !cancel.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"the tcp data connection did not open: {e.Message}"));
        }
        var receiving = ReceiveAsync(step, gradient, cancel);
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var exchange = _tcp.ExchangeAsync(step, loss, gradient, failed.Token);
        var first = await Task.WhenAny(receiving, exchange);
        if (first == receiving && !receiving.IsCompletedSuccessfully)
        {
            await failed.CancelAsync();
            _tcp.Dispose();
            await exchange.ContinueWith(_ => { }, TaskScheduler.Default);
            return await receiving;   // throws the stream's error
        }
        try
        {
            await exchange;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException && !cancel.IsCancellationRequested)
        {
            _tcp.Dispose();
            // A connection the coordinator closed because the generation ended: the stream says so.
            await Task.WhenAny(receiving, Task.Delay(TimeSpan.FromSeconds(10), cancel));
            if (receiving is { IsFaulted: true, Exception.InnerException: RpcException status })
            {
                throw status;
            }
            throw new RpcException(new Status(StatusCode.Unavailable, $"the tcp data connection broke: {e.Message}"));
        }
        var done = await receiving;
        LastBucketTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();   // the closing may come before the last values
        return done;
    }

    private async Task<StepDone> ReceiveAsync(int step, float[] gradient, CancellationToken cancel)
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(cancel))
            {
                var reply = _call.ResponseStream.Current;
                if (reply.MessageCase == ReduceReply.MessageOneofCase.StepDone)
                {
                    if (reply.StepDone.Step != step)
                    {
                        throw new InvalidOperationException($"The coordinator closed step {reply.StepDone.Step} while this worker was at step {step}.");
                    }
                    _wire.Closed(gradient);
                    LastBucketTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
                    return reply.StepDone;
                }
                _wire.Receive(reply.Bucket, gradient);
            }
        }
        catch (IOException e)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"the all-reduce stream broke: {e.Message}"));
        }
        throw new RpcException(new Status(StatusCode.Unavailable, $"the coordinator ended the all-reduce stream before step {step} was done"));
    }
}

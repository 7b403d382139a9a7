using System.Buffers;
using System.Runtime.InteropServices;
using Distributed.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Distributed.Protocol;

/// <summary>
/// One worker's AllReduce call for one assignment: each step writes the flat gradient as
/// <see cref="DistributedBuckets"/>, copies the reduced buckets back into it as they arrive, and
/// returns the step's closing message.
/// </summary>
public sealed class AllReduceStream : IDisposable
{
    private readonly AsyncDuplexStreamingCall<GradientBucket, ReduceReply> _call;
    private readonly string _workerId;
    private readonly long _generation;
    private string _fingerprint;

    /// <param name="modelFingerprint">Sent once, on the stream's first bucket, for the coordinator to check.</param>
    public AllReduceStream(Coordinator.CoordinatorClient client, string workerId, string modelFingerprint, long generation, CancellationToken cancel)
    {
        _call = client.AllReduce(cancellationToken: cancel);
        (_workerId, _fingerprint, _generation) = (workerId, modelFingerprint, generation);
    }

    /// <summary>
    /// When the last step's last reduced bucket arrived (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>):
    /// its closing message follows only after the coordinator has updated its own replica, which is
    /// no communication.
    /// </summary>
    public long LastBucketTimestamp { get; private set; }

    /// <summary>
    /// All-reduces one step: <paramref name="gradient"/> holds this worker's gradient on entry and the
    /// reduced gradient on return. Failures of the stream come out as <see cref="RpcException"/>s.
    /// </summary>
    public async Task<StepDone> ReduceAsync(int step, float loss, float[] gradient, CancellationToken cancel)
    {
        var receiving = ReceiveAsync(step, gradient, cancel);
        try
        {
            for (var bucket = 0; bucket < DistributedBuckets.Count(gradient.Length); bucket++)
            {
                var (start, length) = DistributedBuckets.Range(bucket, gradient.Length);
                await _call.RequestStream.WriteAsync(new GradientBucket
                {
                    WorkerId = _workerId,
                    ModelFingerprint = _fingerprint,
                    Generation = _generation,
                    Step = step,
                    Bucket = bucket,
                    Loss = loss,
                    // No copy: WriteAsync serializes the bucket before it returns, and its reduced
                    // counterpart, which overwrites these elements, only exists once the coordinator has it.
                    Data = UnsafeByteOperations.UnsafeWrap(new FloatBytes(gradient, start, length).Memory),
                }, cancel);
                _fingerprint = "";
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
        await _call.RequestStream.CompleteAsync();
        while (await _call.ResponseStream.MoveNext(cancel))
        {
            // Nothing follows the last step's closing message; read to the call's status.
        }
    }

    public void Dispose() => _call.Dispose();

    private async Task<StepDone> ReceiveAsync(int step, float[] gradient, CancellationToken cancel)
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(cancel))
            {
                var reply = _call.ResponseStream.Current;
                if (reply.MessageCase == ReduceReply.MessageOneofCase.StepDone)
                {
                    return reply.StepDone.Step == step
                        ? reply.StepDone
                        : throw new InvalidOperationException($"The coordinator closed step {reply.StepDone.Step} while this worker was at step {step}.");
                }
                var bucket = reply.Bucket;
                var (start, length) = bucket.Bucket >= 0 && bucket.Bucket < DistributedBuckets.Count(gradient.Length)
                    ? DistributedBuckets.Range(bucket.Bucket, gradient.Length)
                    : (0, -1);
                if (bucket.Data.Length != length * sizeof(float))
                {
                    throw new InvalidDataException($"The coordinator sent reduced bucket {bucket.Bucket} with {bucket.Data.Length} bytes, which does not fit a gradient of {gradient.Length} elements.");
                }
                MemoryMarshal.Cast<byte, float>(bucket.Data.Span).CopyTo(gradient.AsSpan(start, length));
                LastBucketTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
            }
        }
        catch (IOException e)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"the all-reduce stream broke: {e.Message}"));
        }
        throw new RpcException(new Status(StatusCode.Unavailable, $"the coordinator ended the all-reduce stream before step {step} was done"));
    }

    /// <summary>A slice of a float array seen as bytes, for protobuf to wrap without copying.</summary>
    private sealed class FloatBytes(float[] array, int start, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(array.AsSpan(start, length));

        public override unsafe MemoryHandle Pin(int elementIndex = 0)
        {
            var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
            return new MemoryHandle((byte*)handle.AddrOfPinnedObject() + (long)start * sizeof(float) + elementIndex, handle, this);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}

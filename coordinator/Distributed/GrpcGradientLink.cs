using System.Runtime.InteropServices;
using System.Threading.Channels;
using Distributed.Protocol;
using Distributed.Protocol.V1;
using Google.Protobuf;

namespace Distributed.Coordinator.Distributed;

/// <summary>
/// The gRPC data plane of one member's AllReduce stream: reduced buckets and step closings are queued
/// for the stream's writer in order. Buckets are encoded once for all members (<see cref="ReducedReplies"/>).
/// </summary>
public sealed class GrpcGradientLink(ReducedReplies replies) : IGradientLink
{
    private readonly Channel<ReduceReply> _queue = Channel.CreateUnbounded<ReduceReply>(new() { SingleReader = true });
    private readonly CancellationTokenSource _aborted = new();

    public string Transport => "grpc";

    /// <summary>What the stream's writer sends, in order; completes when the link is closed.</summary>
    public ChannelReader<ReduceReply> Replies => _queue.Reader;

    /// <summary>Fires when the generation ended under the member: stop reading its stream.</summary>
    public CancellationToken Aborted => _aborted.Token;

    public void SendReduced(in ReducedBucketView reduced) => _queue.Writer.TryWrite(replies.Of(reduced));

    public void SendStepClosed(StepClosed closed) => _queue.Writer.TryWrite(new ReduceReply
    {
        StepDone = new StepDone { Step = closed.Step, LearningRate = closed.LearningRate, ClipScale = closed.ClipScale, Loss = closed.Loss },
    });

    /// <summary>Safe to call again, from any thread (the token source has no timer, so it needs no disposal).</summary>
    public void Close(bool membershipChanged)
    {
        _queue.Writer.TryComplete();
        if (membershipChanged)
        {
            _aborted.Cancel();
        }
    }
}

/// <summary>
/// The reduced buckets of a run as wire messages, each encoded once for every member's stream from a
/// buffer reused every step. Safe to reuse: bucket k of step s+1 cannot be reduced before every member
/// has received step s's closing message, which its stream sends after bucket k of step s. Reusing
/// them keeps 1 MiB allocations (and full GCs) off the hot path.
/// </summary>
public sealed class ReducedReplies(int totalElements)
{
    private readonly byte[][] _buffers = Enumerable.Range(0, DistributedBuckets.Count(totalElements))
        .Select(b => new byte[DistributedBuckets.Range(b, totalElements).Length * sizeof(float)])
        .ToArray();
    private readonly Lock _gate = new();
    private long _sequence = -1;
    private ReduceReply? _reply;

    public ReduceReply Of(in ReducedBucketView reduced)
    {
        lock (_gate)
        {
            if (reduced.Sequence != _sequence)
            {
                var buffer = _buffers[reduced.Bucket];
                MemoryMarshal.AsBytes(reduced.Values).CopyTo(buffer);
                _reply = new ReduceReply { Bucket = new ReducedBucket { Step = reduced.Step, Bucket = reduced.Bucket, Data = UnsafeByteOperations.UnsafeWrap(buffer) } };
                _sequence = reduced.Sequence;
            }
            return _reply!;
        }
    }
}

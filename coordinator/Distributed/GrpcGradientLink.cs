using System.Runtime.InteropServices;
using System.Threading.Channels;
using Distributed.Models;
using Distributed.Models.DataParallel;
using Distributed.Protocol;
using Distributed.Protocol.V1;
using Google.Protobuf;

namespace Distributed.Coordinator.Distributed;

/// <summary>How the reduced buckets reach the members of one transport: as stream messages, or written where they read them.</summary>
public interface IReducedDelivery
{
    /// <summary>The message to queue on the member's stream, or null when the bucket went another way (shared memory).</summary>
    ReduceReply? Deliver(in ReducedBucketView reduced);
}

/// <summary>
/// One member's AllReduce stream: step closings (and, on the gRPC data plane, the reduced buckets) are
/// queued for the stream's writer in order. Buckets are delivered once for all members of a transport
/// (<see cref="ReducedReplies"/> encodes stream messages, <see cref="SharedMemoryPlane"/> writes the run's reduced file).
/// </summary>
public sealed class GrpcGradientLink(IReducedDelivery delivery, string transport) : IGradientLink
{
    private readonly Channel<ReduceReply> _queue = Channel.CreateUnbounded<ReduceReply>(new() { SingleReader = true });
    private readonly CancellationTokenSource _aborted = new();

    /// <summary>What the stream's writer sends, in order; completes when the link is closed.</summary>
    public ChannelReader<ReduceReply> Replies => _queue.Reader;

    /// <summary>Fires when the generation ended under the member: stop reading its stream.</summary>
    public CancellationToken Aborted => _aborted.Token;

    /// <summary>"grpc" or "shared-memory", for logs.</summary>
    public string Transport => transport;

    public void SendReduced(in ReducedBucketView reduced)
    {
        if (delivery.Deliver(reduced) is { } reply)
        {
            _queue.Writer.TryWrite(reply);
        }
    }

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
/// The reduced buckets of a run as wire messages (float32 or bf16), each encoded once for every
/// member's stream into a buffer reused every step. Safe to reuse: bucket k of step s+1 cannot be
/// reduced before every member has received step s's closing message, which its stream sends after
/// bucket k of step s. Reusing them keeps 1 MiB allocations (and full GCs) off the hot path.
/// </summary>
public sealed class ReducedReplies(int totalElements, AllReduceDtype wire = AllReduceDtype.Fp32) : IReducedDelivery
{
    private readonly byte[][] _buffers = Enumerable.Range(0, DistributedBuckets.Count(totalElements))
        .Select(b => new byte[DistributedBuckets.Range(b, totalElements).Length * (wire == AllReduceDtype.Bf16 ? Bfloat16.Size : sizeof(float))])
        .ToArray();
    private readonly Lock _gate = new();
    private long _sequence = -1;
    private ReduceReply? _reply;

    public ReduceReply? Deliver(in ReducedBucketView reduced)
    {
        lock (_gate)
        {
            if (reduced.Sequence != _sequence)
            {
                var buffer = _buffers[reduced.Bucket];
                if (wire == AllReduceDtype.Bf16)
                {
                    Bfloat16.Encode(reduced.Values, buffer);
                }
                else
                {
                    MemoryMarshal.AsBytes(reduced.Values).CopyTo(buffer);
                }
                _reply = new ReduceReply { Bucket = new ReducedBucket { Step = reduced.Step, Bucket = reduced.Bucket, Data = UnsafeByteOperations.UnsafeWrap(buffer) } };
                _sequence = reduced.Sequence;
            }
            return _reply!;
        }
    }
}

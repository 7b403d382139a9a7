using System.Threading.Channels;
using Distributed.Models.Gpt;
using Distributed.Protocol;
using Distributed.Protocol.V1;

namespace Distributed.Coordinator.Distributed;

/// <summary>
/// One member's AllReduce stream on the TCP data plane: its step frames are read from its connection
/// into a pinned buffer in groups of <see cref="GroupBuckets"/> buckets and handed to the run without a
/// copy (<see cref="DistributedRun.AcceptSharedBuckets"/>: the buffer stays put until the step closes,
/// as the worker sends the next frame only after this step's closing), so summing overlaps receiving.
/// The reduced values go back on the connection, in bucket order, from the run's one copy
/// (<see cref="TcpReducedValues"/>); the step closings go on the stream (<see cref="Control"/>).
/// </summary>
public sealed class TcpGradientLink(TcpDataConnection connection, TcpReducedValues values) : IGradientLink, IDisposable
{
    /// <summary>Buckets read before each hand-over to the run (16 MiB): few lock rounds, and several buckets to sum in parallel.</summary>
    public const int GroupBuckets = 16;

    private readonly Channel<(int Start, int Length)> _reduced = Channel.CreateUnbounded<(int, int)>(new() { SingleReader = true });
    private float[]? _received;   // this member's gradient of the current step, as read
    private volatile bool _awaitingClosing;   // a whole frame is in _received and the step is not closed yet

    /// <summary>The stream's side: step closings, and the abort when the generation ends.</summary>
    public GrpcGradientLink Control { get; } = new(values, "tcp");

    public string Transport => "tcp";

    public void SendReduced(in ReducedBucketView reduced)
    {
        Control.SendReduced(reduced);   // stores the values once for every tcp member; queues nothing on the stream
        _reduced.Writer.TryWrite((DistributedBuckets.Range(reduced.Bucket, values.Elements).Start, reduced.Values.Length));
    }

    public void SendStepClosed(StepClosed closed)
    {
        _awaitingClosing = false;   // before the closing is queued: the worker may send its next frame once it has it
        Control.SendStepClosed(closed);
    }

    public void Close(bool membershipChanged)
    {
        _reduced.Writer.TryComplete();
        Control.Close(membershipChanged);
    }

    /// <summary>
    /// Reads step frames until the worker ends the connection at a frame boundary (the end of its
    /// assignment). Each frame must start within <paramref name="idle"/> (a <see cref="TimeoutException"/>
    /// otherwise) and its size is checked against the model's before any of it is read.
    /// </summary>
    public async Task ReceiveAsync(DistributedRun run, WorkerSlot caller, long generation, TimeSpan idle, CancellationToken call)
    {
        var stream = connection.Stream;
        var header = new byte[TcpFrames.StepHeaderBytes];
        while (true)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(call, Control.Aborted);
            wait.CancelAfter(idle);
            try
            {
                var got = await stream.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, wait.Token);
                if (got == 0)
                {
                    return;
                }
                if (got < header.Length)
                {
                    throw new EndOfStreamException("the tcp data connection ended inside a frame header");
                }
                var (step, loss, first, count) = TcpFrames.ReadStepHeader(header);
                // A frame before the last one's closing would overwrite values the reduction may still be summing.
                var problem = _awaitingClosing
                    ? $"step {step}'s frame before the closing of the step it sent last"
                    : TcpFrames.FrameRange(first, count, values.Elements).Problem;
                if (problem is not null)
                {
                    run.StreamBroke(caller, this, problem);
                    throw new Refusal(RefusalKind.InvalidData, $"{caller} sent {problem} on its tcp data connection.").ToException();
                }
                _received ??= GC.AllocateUninitializedArray<float>(values.Elements, pinned: true);
                for (var group = first; group < first + count; group += GroupBuckets)
                {
                    var buckets = Math.Min(GroupBuckets, first + count - group);
                    var (start, length, _) = TcpFrames.FrameRange(group, buckets, values.Elements);
                    await stream.ReadExactlyAsync(new FloatBytes(_received, start, length).Memory, wait.Token);
                    if (group + buckets == first + count)
                    {
                        _awaitingClosing = true;   // set before the last hand-over, which may close the step
                    }
                    run.AcceptSharedBuckets(caller, this, generation, step, group, buckets, _received.AsSpan(start, length), loss);
                }
            }
            catch (OperationCanceledException) when (!call.IsCancellationRequested && !Control.Aborted.IsCancellationRequested)
            {
                throw new TimeoutException($"no gradient for {idle.TotalSeconds:F0} s on an open tcp data connection");
            }
        }
    }

    /// <summary>Writes the reduced values out as the run posts them (contiguous ones in one write), each write within <paramref name="timeout"/>.</summary>
    public async Task SendAsync(TimeSpan timeout, CancellationToken call)
    {
        var reader = _reduced.Reader;
        while (await reader.WaitToReadAsync(call))
        {
            if (!reader.TryRead(out var range))
            {
                continue;
            }
            var (start, length) = range;
            while (reader.TryPeek(out var next) && next.Start == start + length)
            {
                reader.TryRead(out _);
                length += next.Length;
            }
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(call);
            wait.CancelAfter(timeout);
            await connection.Stream.WriteAsync(new FloatBytes(values.Values, start, length).Memory, wait.Token);
        }
    }

    public void Dispose() => connection.Dispose();
}

/// <summary>
/// The run's reduced gradient for its tcp members, copied once per reduction into a float32 array the
/// senders write from (the reduction's own target may be the shared-memory file, which is no array).
/// Safe to reuse every step: bucket k of step s+1 cannot be reduced before every member has received
/// all of step s's values, as a tcp worker sends its next frame only after it has them.
/// </summary>
public sealed class TcpReducedValues(int totalElements) : IReducedDelivery
{
    private readonly Lock _gate = new();
    private float[]? _values;
    private long _sequence = -1;

    public int Elements => totalElements;

    /// <summary>The float32 values senders write from (allocated with the first tcp reduction).</summary>
    public float[] Values => _values ?? throw new InvalidOperationException("No reduced values yet.");

    /// <summary>Stores the bucket (once per reduction, whatever the number of tcp members); nothing goes on the stream.</summary>
    public ReduceReply? Deliver(in ReducedBucketView reduced)
    {
        lock (_gate)
        {
            if (reduced.Sequence != _sequence)
            {
                _values ??= GC.AllocateUninitializedArray<float>(totalElements, pinned: true);
                reduced.Values.CopyTo(_values.AsSpan(DistributedBuckets.Range(reduced.Bucket, totalElements).Start));
                _sequence = reduced.Sequence;
            }
            return null;
        }
    }
}

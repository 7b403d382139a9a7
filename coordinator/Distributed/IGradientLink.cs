namespace Distributed.Coordinator.Distributed;

/// <summary>The closing of one optimizer step, sent to every member after its last reduced bucket.</summary>
/// <param name="ClipScale">Multiply the averaged gradient by this before the optimizer step.</param>
/// <param name="Loss">The step's global mean loss.</param>
public readonly record struct StepClosed(int Step, double LearningRate, float ClipScale, float Loss);

/// <summary>Bucket <paramref name="Bucket"/> of <paramref name="Step"/>'s averaged gradient, as every member receives it.</summary>
/// <param name="Sequence">Unique per reduction (a step redone by a new generation is reduced anew), so a transport can encode it once for all its members.</param>
public readonly ref struct ReducedBucketView(long sequence, int step, int bucket, ReadOnlySpan<float> values)
{
    public long Sequence { get; } = sequence;

    public int Step { get; } = step;

    public int Bucket { get; } = bucket;

    public ReadOnlySpan<float> Values { get; } = values;
}

/// <summary>
/// The data-plane seam: one member's end of the gradient exchange for one generation. A transport
/// delivers the member's gradient buckets with <see cref="DistributedRun.AcceptBucket"/> and gets the
/// reduced ones back through this link (<see cref="GrpcGradientLink"/>: on the AllReduce stream, with the
/// values inline or in shared memory); another transport can implement it without touching the run's state machine.
/// </summary>
public interface IGradientLink
{
    /// <summary>The data plane it runs on ("grpc", "shared-memory"), for logs and metrics.</summary>
    string Transport { get; }

    /// <summary>A reduced bucket; its values are valid only during the call.</summary>
    void SendReduced(in ReducedBucketView reduced);

    void SendStepClosed(StepClosed closed);

    /// <summary>
    /// Ends the link once what was sent is delivered. <paramref name="membershipChanged"/>: the
    /// generation ended under the worker (a member was lost or added), so it must ask for a new assignment.
    /// </summary>
    void Close(bool membershipChanged);
}

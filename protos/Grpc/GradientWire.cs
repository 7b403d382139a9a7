using System.Runtime.InteropServices;
using Distributed.Models;
using Distributed.Models.DataParallel;
using Distributed.Models.Gpt;
using Distributed.Protocol.V1;
using Google.Protobuf;

namespace Distributed.Protocol;

/// <summary>
/// How a worker's gradient values travel on its AllReduce stream (the stream itself, with its order,
/// generations and closing messages, is <see cref="AllReduceStream"/>'s): inline in the messages as
/// float32 or bf16 (<see cref="InlineGradients"/>), or through the coordinator's shared-memory files
/// with only control messages on the stream (<see cref="SharedMemoryGradients"/>).
/// </summary>
public abstract class GradientWire : IDisposable
{
    /// <summary>"grpc (fp32)", "shared-memory": for logs.</summary>
    public abstract string Name { get; }

    /// <summary>The messages that carry one step's <paramref name="gradient"/>; each is written before the next is made.</summary>
    public abstract IEnumerable<GradientBucket> Messages(float[] gradient);

    /// <summary>A reduced bucket arrived on the stream: its values go into <paramref name="gradient"/>.</summary>
    public abstract void Receive(ReducedBucket bucket, float[] gradient);

    /// <summary>The step's closing arrived: every reduced value is now where this wire reads it.</summary>
    public abstract void Closed(float[] gradient);

    /// <summary>Set on the stream's first message.</summary>
    public virtual ByteString Proof => ByteString.Empty;

    public virtual void Dispose()
    {
    }
}

/// <summary>The gradient in the stream's messages: one per bucket, float32 (no copy) or bf16 (half the bytes).</summary>
public sealed class InlineGradients(AllReduceDtype dtype) : GradientWire
{
    private byte[] _encoded = [];

    public override string Name => $"grpc ({(dtype == AllReduceDtype.Bf16 ? "bf16" : "fp32")})";

    public override IEnumerable<GradientBucket> Messages(float[] gradient)
    {
        for (var bucket = 0; bucket < DistributedBuckets.Count(gradient.Length); bucket++)
        {
            var (start, length) = DistributedBuckets.Range(bucket, gradient.Length);
            ByteString data;
            if (dtype == AllReduceDtype.Bf16)
            {
                // One buffer for every bucket: the stream serializes a message before the next is made.
                _encoded = _encoded.Length >= length * Bfloat16.Size ? _encoded : new byte[DistributedBuckets.Elements * Bfloat16.Size];
                Bfloat16.Encode(gradient.AsSpan(start, length), _encoded);
                data = UnsafeByteOperations.UnsafeWrap(_encoded.AsMemory(0, length * Bfloat16.Size));
            }
            else
            {
                // No copy: the reduced counterpart, which overwrites these elements, only exists once the coordinator has them.
                data = UnsafeByteOperations.UnsafeWrap(new FloatBytes(gradient, start, length).Memory);
            }
            yield return new GradientBucket { Bucket = bucket, Data = data };
        }
    }

    public override void Receive(ReducedBucket bucket, float[] gradient)
    {
        var size = dtype == AllReduceDtype.Bf16 ? Bfloat16.Size : sizeof(float);
        var (start, length) = bucket.Bucket >= 0 && bucket.Bucket < DistributedBuckets.Count(gradient.Length)
            ? DistributedBuckets.Range(bucket.Bucket, gradient.Length)
            : (0, -1);
        if (bucket.Data.Length != length * size)
        {
            throw new InvalidDataException($"The coordinator sent reduced bucket {bucket.Bucket} with {bucket.Data.Length} bytes, which does not fit a gradient of {gradient.Length} elements.");
        }
        if (dtype == AllReduceDtype.Bf16)
        {
            Bfloat16.Decode(bucket.Data.Span, gradient.AsSpan(start, length));
        }
        else
        {
            MemoryMarshal.Cast<byte, float>(bucket.Data.Span).CopyTo(gradient.AsSpan(start, length));
        }
    }

    public override void Closed(float[] gradient)
    {
    }
}

/// <summary>
/// The gradient through the coordinator's shared-memory files (same host only): the worker copies it
/// into its own file and sends one control message for all its buckets; the averaged gradient is in
/// the run's reduced file when the step's closing arrives. Float32 always (memory speed; bf16 would
/// only cost the conversions). Owns both mappings.
/// </summary>
public sealed class SharedMemoryGradients : GradientWire
{
    private readonly SharedMemoryFile _gradient, _reduced;

    private SharedMemoryGradients(SharedMemoryFile gradient, SharedMemoryFile reduced) => (_gradient, _reduced) = (gradient, reduced);

    /// <summary>Maps the offered files (<paramref name="elements"/> values each); throws an IOException-like error when this process cannot.</summary>
    public static SharedMemoryGradients Open(SharedMemoryOffer offer, long elements)
    {
        var gradient = SharedMemoryFile.Open(offer.GradientFile, elements, writable: true);
        try
        {
            return new SharedMemoryGradients(gradient, SharedMemoryFile.Open(offer.ReducedFile, elements, writable: false));
        }
        catch
        {
            gradient.Dispose();
            throw;
        }
    }

    public override string Name => "shared-memory";

    public override ByteString Proof => ByteString.CopyFrom(_gradient.Proof);

    public override IEnumerable<GradientBucket> Messages(float[] gradient)
    {
        Copy(gradient, _gradient.Values(0, gradient.Length));
        yield return new GradientBucket { Bucket = 0, SharedBuckets = DistributedBuckets.Count(gradient.Length) };
    }

    public override void Receive(ReducedBucket bucket, float[] gradient)
        => throw new InvalidDataException("The coordinator sent a reduced bucket on a shared-memory stream.");

    public override void Closed(float[] gradient) => Copy(_reduced.Values(0, gradient.Length), gradient);

    public override void Dispose()
    {
        _gradient.Dispose();
        _reduced.Dispose();
    }

    /// <summary>A memcpy of the whole gradient, in two halves in parallel (one core does not saturate memory here).</summary>
    private static unsafe void Copy(Span<float> source, Span<float> destination)
    {
        fixed (float* from = source, to = destination)
        {
            var (s, d, half) = ((nint)from, (nint)to, source.Length / 2);
            var length = source.Length;
            Parallel.Invoke(
                () => new Span<float>((float*)s, half).CopyTo(new Span<float>((float*)d, half)),
                () => new Span<float>((float*)s + half, length - half).CopyTo(new Span<float>((float*)d + half, length - half)));
        }
    }
}

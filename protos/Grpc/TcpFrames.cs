using System.Buffers.Binary;
using System.Text;

namespace Distributed.Protocol;

/// <summary>
/// The byte layout of the raw TCP data plane (little-endian). On connecting, the worker sends a hello:
/// magic "DGT1" (4 bytes), its ticket (32), the stream's generation (int64), the length of its worker
/// id (int32, 1..<see cref="MaxWorkerIdBytes"/>) and the id (UTF-8); the coordinator answers one byte,
/// <see cref="Accepted"/>, or closes the socket. Then, per step, the worker sends a frame header
/// (step int32, loss float32, first bucket int32, bucket count int32) and the float32 values of those
/// buckets; the coordinator sends back the step's averaged gradient as float32, in bucket order, with
/// no header (the stream's closing message names the step).
/// </summary>
public static class TcpFrames
{
    public const int TicketBytes = 32;
    public const int MaxWorkerIdBytes = 64;
    public const int HelloFixedBytes = 4 + TicketBytes + 8 + 4;
    public const int StepHeaderBytes = 16;
    public const byte Accepted = 1;
    private const uint Magic = 0x31_54_47_44;   // "DGT1"

    public static byte[] Hello(ReadOnlySpan<byte> ticket, long generation, string workerId)
    {
        var id = Encoding.UTF8.GetBytes(workerId);
        var hello = new byte[HelloFixedBytes + id.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(hello, Magic);
        ticket.CopyTo(hello.AsSpan(4, TicketBytes));
        BinaryPrimitives.WriteInt64LittleEndian(hello.AsSpan(4 + TicketBytes), generation);
        BinaryPrimitives.WriteInt32LittleEndian(hello.AsSpan(12 + TicketBytes), id.Length);
        id.CopyTo(hello, HelloFixedBytes);
        return hello;
    }

    /// <summary>The fixed part of a hello: its ticket, generation and the id's length; null when it is no hello.</summary>
    public static (byte[] Ticket, long Generation, int IdBytes)? ReadHello(ReadOnlySpan<byte> fixedPart)
    {
        if (fixedPart.Length != HelloFixedBytes || BinaryPrimitives.ReadUInt32LittleEndian(fixedPart) != Magic)
        {
            return null;
        }
        var idBytes = BinaryPrimitives.ReadInt32LittleEndian(fixedPart[(12 + TicketBytes)..]);
        return idBytes is < 1 or > MaxWorkerIdBytes
            ? null
            : (fixedPart.Slice(4, TicketBytes).ToArray(), BinaryPrimitives.ReadInt64LittleEndian(fixedPart[(4 + TicketBytes)..]), idBytes);
    }

    public static void WriteStepHeader(Span<byte> header, int step, float loss, int firstBucket, int buckets)
    {
        BinaryPrimitives.WriteInt32LittleEndian(header, step);
        BinaryPrimitives.WriteSingleLittleEndian(header[4..], loss);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], firstBucket);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], buckets);
    }

    public static (int Step, float Loss, int FirstBucket, int Buckets) ReadStepHeader(ReadOnlySpan<byte> header)
        => (BinaryPrimitives.ReadInt32LittleEndian(header), BinaryPrimitives.ReadSingleLittleEndian(header[4..]),
            BinaryPrimitives.ReadInt32LittleEndian(header[8..]), BinaryPrimitives.ReadInt32LittleEndian(header[12..]));

    /// <summary>
    /// The elements [Start, Start + Length) a frame of buckets [first, first + count) carries in a gradient
    /// of <paramref name="elements"/> values, or the problem when that range is not within it (checked
    /// before a byte of the values is read, so a frame can never make the reader allocate or overrun).
    /// </summary>
    public static (int Start, int Length, string? Problem) FrameRange(int first, int count, long elements)
    {
        var total = DistributedBuckets.Count(elements);
        if (count < 1 || first < 0 || first > total - count)
        {
            return (0, 0, $"a frame of buckets {first}..{(long)first + count - 1}, outside [0, {total})");
        }
        var start = DistributedBuckets.Range(first, elements).Start;
        var (lastStart, lastLength) = DistributedBuckets.Range(first + count - 1, elements);
        return (start, lastStart + lastLength - start, null);
    }
}

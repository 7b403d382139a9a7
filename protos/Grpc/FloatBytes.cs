using System.Buffers;
using System.Runtime.InteropServices;

namespace Distributed.Protocol;

/// <summary>A slice of a float array seen as bytes, for protobuf or a socket to read or write without copying.</summary>
public sealed class FloatBytes(float[] array, int start, int length) : MemoryManager<byte>
{
    public FloatBytes(float[] array) : this(array, 0, array.Length)
    {
    }

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

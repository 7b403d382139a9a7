using System.Buffers;
using System.Runtime.InteropServices;

namespace Distributed.Models.Gpt;

/// <summary>
/// A slice of a float[] seen as Memory&lt;byte&gt; without a copy (.NET cannot reinterpret a
/// Memory&lt;float&gt; as bytes directly), so a serializer, protobuf or a socket reads or writes the
/// floats in place.
/// </summary>
public sealed class FloatBytes(float[] array, int start, int length) : MemoryManager<byte>
{
    public FloatBytes(float[] array) : this(array, 0, array.Length)
    {
    }

    public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(array.AsSpan(start, length));

    // A GCHandle pins an ordinary array for the I/O; for one on the pinned object heap it costs nothing more.
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

using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Distributed.Models.Gpt;

/// <summary>
/// A slice of a pinned float[] seen as Memory&lt;byte&gt; without a copy (.NET cannot reinterpret a
/// Memory&lt;float&gt; as bytes directly), so a serializer can read a buffer's tensors in place.
/// </summary>
internal sealed unsafe class PinnedFloatBytes(float[] pinnedArray, int offset, int length) : MemoryManager<byte>
{
    public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(pinnedArray.AsSpan(offset, length));

    // The array lives on the pinned object heap, so its address never changes: nothing to pin.
    public override MemoryHandle Pin(int elementIndex = 0)
        => new((byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinnedArray)) + (long)offset * sizeof(float) + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}

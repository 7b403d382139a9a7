using System.Numerics;
using System.Runtime.InteropServices;

namespace Distributed.Models.DataParallel;

/// <summary>
/// bfloat16 for gradients on the wire: the top 16 bits of a float32 (same exponent range, 8 bits of
/// mantissa), rounded to nearest, ties to even. Gradients are finite by the time they are encoded (the
/// all-reduce refuses NaN and infinity), so no NaN payload needs preserving. Half the bytes of float32;
/// the sums stay float32.
/// </summary>
public static class Bfloat16
{
    /// <summary>Bytes per value on the wire.</summary>
    public const int Size = sizeof(ushort);

    /// <summary>Rounds each value to bf16 and writes its 16 bits, little-endian.</summary>
    public static void Encode(ReadOnlySpan<float> values, Span<byte> destination)
    {
        var bits = MemoryMarshal.Cast<float, uint>(values);
        var output = MemoryMarshal.Cast<byte, ushort>(destination[..(values.Length * Size)]);
        var i = 0;
        var width = Vector<uint>.Count;
        for (; i <= bits.Length - 2 * width; i += 2 * width)
        {
            var low = Rounded(new Vector<uint>(bits[i..]));
            var high = Rounded(new Vector<uint>(bits[(i + width)..]));
            Vector.Narrow(low >> 16, high >> 16).CopyTo(output[i..]);
        }
        for (; i < bits.Length; i++)
        {
            output[i] = (ushort)(Rounded(bits[i]) >> 16);
        }
    }

    /// <summary>Widens each bf16 value back to float32 (exactly: bf16 is a float32 with 16 zero bits).</summary>
    public static void Decode(ReadOnlySpan<byte> source, Span<float> destination)
    {
        var input = MemoryMarshal.Cast<byte, ushort>(source);
        var output = MemoryMarshal.Cast<float, uint>(destination[..input.Length]);
        var i = 0;
        var width = Vector<ushort>.Count;
        for (; i <= input.Length - width; i += width)
        {
            Vector.Widen(new Vector<ushort>(input[i..]), out var low, out var high);
            (low << 16).CopyTo(output[i..]);
            (high << 16).CopyTo(output[(i + Vector<uint>.Count)..]);
        }
        for (; i < input.Length; i++)
        {
            output[i] = (uint)input[i] << 16;
        }
    }

    /// <summary>Rounds each value to the nearest bf16, in place: what a receiver of <see cref="Encode"/> gets back.</summary>
    public static void Round(Span<float> values)
    {
        var bits = MemoryMarshal.Cast<float, uint>(values);
        var i = 0;
        var mask = new Vector<uint>(0xFFFF0000u);
        for (; i <= bits.Length - Vector<uint>.Count; i += Vector<uint>.Count)
        {
            (Rounded(new Vector<uint>(bits[i..])) & mask).CopyTo(bits[i..]);
        }
        for (; i < bits.Length; i++)
        {
            bits[i] = Rounded(bits[i]) & 0xFFFF0000u;
        }
    }

    // Round to nearest even on bit 16: add 0x7FFF plus the bit that will become the last kept one.
    private static uint Rounded(uint bits) => bits + 0x7FFFu + ((bits >> 16) & 1u);

    private static Vector<uint> Rounded(Vector<uint> bits) => bits + new Vector<uint>(0x7FFFu) + ((bits >> 16) & Vector<uint>.One);
}

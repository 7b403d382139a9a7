using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Distributed.Models.Checkpoints;

/// <summary>
/// Reads and writes float32 tensors in Hugging Face's safetensors format: an 8-byte little-endian
/// header length, a JSON header, then the raw little-endian data of each tensor back to back.
/// Files written here load with Python's <c>safetensors.safe_open</c>.
/// </summary>
public static partial class SafeTensors
{
    /// <summary>
    /// Writes <paramref name="tensors"/> in the order given, with optional "__metadata__" strings.
    /// The stream is only written front to back, never read or seeked.
    /// </summary>
    /// <exception cref="ArgumentException">A name is empty, reserved or repeated, or a shape does not match its data.</exception>
    public static void Write(
        Stream stream,
        IEnumerable<(string name, int[] shape, ReadOnlyMemory<float> data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        RequireLittleEndian();
        var list = tensors.ToList();
        var entries = new List<SafeTensorsEntry>(list.Count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        long offset = 0;
        foreach (var (name, shape, data) in list)
        {
            CheckTensor(name, shape, data.Length, names);
            var end = offset + (long)data.Length * sizeof(float);
            entries.Add(new SafeTensorsEntry(name, shape, offset, end));
            offset = end;
        }

        var header = SafeTensorsHeader.Build(entries, metadata);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var (_, _, data) in list)
        {
            stream.Write(MemoryMarshal.AsBytes(data.Span));
        }
    }

    private static void CheckTensor(string name, int[] shape, int length, HashSet<string> names)
    {
        if (string.IsNullOrEmpty(name) || name == SafeTensorsHeader.MetadataKey)
        {
            throw new ArgumentException(
                $"tensor name '{name}' is not allowed: names must be non-empty and not '{SafeTensorsHeader.MetadataKey}'", nameof(name));
        }
        if (!names.Add(name))
        {
            throw new ArgumentException($"tensor name '{name}' appears twice; every tensor needs its own name", nameof(name));
        }
        if (shape.Any(d => d < 0))
        {
            throw new ArgumentException($"tensor '{name}' has shape [{string.Join(",", shape)}] with a negative dimension", nameof(shape));
        }
        var elements = shape.Aggregate(1L, (product, d) => product * d);
        if (elements != length)
        {
            throw new ArgumentException(
                $"tensor '{name}' has shape [{string.Join(",", shape)}] ({elements} elements) but {length} values; "
                + "pass the shape that matches the data", nameof(shape));
        }
    }

    // The file format is little-endian; raw memory is written and read without conversion, which is
    // only right on a little-endian machine (every platform .NET ships on today).
    private static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("safetensors I/O here assumes a little-endian machine");
        }
    }
}

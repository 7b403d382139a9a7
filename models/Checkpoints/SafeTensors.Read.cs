using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Distributed.Models.Checkpoints;

public static partial class SafeTensors
{
    /// <summary>Same limit as the reference reader: a bigger header means a corrupt or hostile file.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>
    /// Reads every tensor of a float32 safetensors file, after checking that the header's offsets
    /// tile the data section exactly and each tensor's byte size matches its shape.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is truncated, malformed or holds non-F32 tensors; the message names the file and the fault.</exception>
    public static SafeTensorsFile Read(string path)
    {
        RequireLittleEndian();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        var length = stream.Length;
        if (length < 8)
        {
            throw SafeTensorsHeader.Corrupt(path, $"it is {length} bytes, shorter than the 8-byte header length (truncated?)");
        }
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > MaxHeaderBytes)
        {
            throw SafeTensorsHeader.Corrupt(path, $"it declares a {headerLength}-byte header, over the {MaxHeaderBytes}-byte limit");
        }
        if ((long)headerLength > length - 8)
        {
            throw SafeTensorsHeader.Corrupt(path, $"it declares a {headerLength}-byte header but only {length - 8} bytes follow (truncated?)");
        }
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        var (entries, metadata) = SafeTensorsHeader.Parse(header, path);

        // Check the whole layout before allocating anything, so a corrupt size cannot ask for gigabytes.
        var ordered = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        CheckLayout(ordered, dataLength: length - 8 - (long)headerLength, path);

        var tensors = new List<NamedTensor>(ordered.Count);
        foreach (var entry in ordered)
        {
            var data = new float[(entry.End - entry.Begin) / sizeof(float)];
            stream.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
            tensors.Add(new NamedTensor(entry.Name, entry.Shape, data));
        }
        return new SafeTensorsFile(tensors, metadata);
    }

    private static void CheckLayout(List<SafeTensorsEntry> ordered, long dataLength, string path)
    {
        long expectedBegin = 0;
        foreach (var entry in ordered)
        {
            var where = $"tensor '{entry.Name}' has data_offsets [{entry.Begin},{entry.End}]";
            if (entry.Begin != expectedBegin || entry.End < entry.Begin)
            {
                throw SafeTensorsHeader.Corrupt(path, $"{where}; expected it to start at {expectedBegin}, right after the previous tensor");
            }
            if (entry.End > dataLength)
            {
                throw SafeTensorsHeader.Corrupt(path, $"{where} but the data section has only {dataLength} bytes (truncated?)");
            }
            var elements = CountElements(entry, path);
            if (entry.End - entry.Begin != elements * sizeof(float))
            {
                throw SafeTensorsHeader.Corrupt(path,
                    $"{where} ({entry.End - entry.Begin} bytes) but shape [{string.Join(",", entry.Shape)}] needs {elements * sizeof(float)} bytes");
            }
            expectedBegin = entry.End;
        }
        if (expectedBegin != dataLength)
        {
            throw SafeTensorsHeader.Corrupt(path, $"its tensors cover {expectedBegin} bytes but the data section has {dataLength}");
        }
    }

    private static long CountElements(SafeTensorsEntry entry, string path)
    {
        try
        {
            var elements = entry.Shape.Aggregate(1L, (product, d) => checked(product * d));
            return elements <= Array.MaxLength
                ? elements
                : throw SafeTensorsHeader.Corrupt(path, $"tensor '{entry.Name}' has {elements} elements, more than one array can hold");
        }
        catch (OverflowException)
        {
            throw SafeTensorsHeader.Corrupt(path, $"tensor '{entry.Name}' has shape [{string.Join(",", entry.Shape)}], too large to count");
        }
    }
}

using System.Text.Encodings.Web;
using System.Text.Json;

namespace Distributed.Models.Checkpoints;

/// <summary>One tensor's entry in a safetensors header; offsets are relative to the data section.</summary>
internal sealed record SafeTensorsEntry(string Name, int[] Shape, long Begin, long End);

/// <summary>
/// The JSON header of a safetensors file, both ways: {"__metadata__":{...},"name":{"dtype":"F32",
/// "shape":[...],"data_offsets":[begin,end]},...}. Only F32 is written or accepted.
/// </summary>
internal static class SafeTensorsHeader
{
    public const string MetadataKey = "__metadata__";
    public const string Float32 = "F32";

    /// <summary>
    /// Compact JSON, padded with spaces to a multiple of 8 bytes so the data section starts aligned
    /// for casting (the reference implementation does the same). Metadata keys are sorted so the
    /// same tensors always give the same bytes, and hence the same checksum.
    /// </summary>
    public static byte[] Build(IEnumerable<SafeTensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping keeps names like "h.0.attn+x" readable; the header is never HTML.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    json.WriteString(key, value);
                }
                json.WriteEndObject();
            }
            foreach (var entry in entries)
            {
                json.WriteStartObject(entry.Name);
                json.WriteString("dtype", Float32);
                json.WriteStartArray("shape");
                foreach (var dimension in entry.Shape)
                {
                    json.WriteNumberValue(dimension);
                }
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(entry.Begin);
                json.WriteNumberValue(entry.End);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        var padding = (int)((8 - buffer.Length % 8) % 8);
        for (var i = 0; i < padding; i++)
        {
            buffer.WriteByte((byte)' ');
        }
        return buffer.ToArray();
    }

    /// <summary>Parses a header; entries come back in header order. Throws InvalidDataException naming <paramref name="file"/>.</summary>
    public static (List<SafeTensorsEntry> Entries, Dictionary<string, string> Metadata) Parse(byte[] header, string file)
    {
        if (header.Length == 0 || header[0] != (byte)'{')
        {
            throw Corrupt(file, "its header does not start with '{'; it is not a safetensors file");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw Corrupt(file, $"its header is not valid JSON ({e.Message})");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Corrupt(file, "its header is not a JSON object");
            }
            var entries = new List<SafeTensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    ReadMetadata(property.Value, file, metadata);
                }
                else
                {
                    entries.Add(ReadEntry(property.Name, property.Value, file));
                }
            }
            return (entries, metadata);
        }
    }

    public static InvalidDataException Corrupt(string file, string what) =>
        new($"safetensors file '{file}' is invalid: {what}. Re-create it, or use a different copy.");

    private static void ReadMetadata(JsonElement value, string file, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Corrupt(file, $"\"{MetadataKey}\" must be an object of strings, not {value.ValueKind}");
        }
        foreach (var item in value.EnumerateObject())
        {
            metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String
                ? item.Value.GetString()!
                : throw Corrupt(file, $"\"{MetadataKey}\" entry '{item.Name}' must be a string, not {item.Value.ValueKind}");
        }
    }

    private static SafeTensorsEntry ReadEntry(string name, JsonElement value, string file)
    {
        string Where() => $"tensor '{name}'";
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Corrupt(file, $"{Where()} must be an object with dtype, shape and data_offsets");
        }
        var dtype = value.TryGetProperty("dtype", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
        if (dtype != Float32)
        {
            throw Corrupt(file, $"{Where()} has dtype {dtype ?? "(missing)"}, but only {Float32} is supported; convert the tensor to float32");
        }
        var shape = ReadIntegers(value, "shape", file, Where()).Select(dimension =>
            dimension <= int.MaxValue
                ? (int)dimension
                : throw Corrupt(file, $"{Where()} has dimension {dimension}, larger than {int.MaxValue}")).ToArray();
        var offsets = ReadIntegers(value, "data_offsets", file, Where());
        if (offsets.Length != 2)
        {
            throw Corrupt(file, $"{Where()} has {offsets.Length} data_offsets; expected [begin, end]");
        }
        return new SafeTensorsEntry(name, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadIntegers(JsonElement entry, string key, string file, string where)
    {
        if (!entry.TryGetProperty(key, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            throw Corrupt(file, $"{where} has no \"{key}\" array");
        }
        return array.EnumerateArray().Select(item =>
            item.ValueKind == JsonValueKind.Number && item.TryGetInt64(out var number) && number >= 0
                ? number
                : throw Corrupt(file, $"{where} has {key} entry {item.GetRawText()}; expected a non-negative integer")).ToArray();
    }
}

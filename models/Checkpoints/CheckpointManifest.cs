using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distributed.Models.Checkpoints;

/// <summary>One file of a checkpoint as it was when saved.</summary>
internal sealed record ManifestEntry(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("sha256")] string Sha256);

/// <summary>
/// manifest.json: the list of a checkpoint's files with their sizes and SHA-256. It is written last,
/// so its presence means the save finished, and its checksums catch later damage.
/// </summary>
internal sealed record CheckpointManifest(
    [property: JsonPropertyName("format_version")] int FormatVersion,
    [property: JsonPropertyName("files")] IReadOnlyList<ManifestEntry> Files)
{
    /// <summary>Raise when the layout of a checkpoint changes, so old builds refuse new checkpoints.</summary>
    public const int CurrentFormatVersion = 1;

    // Missing or null fields are errors rather than zeros, so a damaged manifest cannot pass as an
    // empty-but-valid one.
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    public void Write(Stream stream) => JsonSerializer.Serialize(stream, this, Options);

    /// <exception cref="JsonException">The file is not a manifest.</exception>
    public static CheckpointManifest Read(string path)
    {
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize<CheckpointManifest>(stream, Options)
            ?? throw new JsonException("manifest.json holds null");
    }
}

using System.Text.Json;
using System.Text;
using Distributed.Models.Config;

namespace Distributed.Models.Checkpoints;

/// <summary>
/// Saves and loads a checkpoint directory: model.safetensors, optimizer.safetensors, config.json,
/// state.json, any extra files, and manifest.json with every file's size and SHA-256. Each file is
/// replaced atomically and the manifest goes last, so a checkpoint either loads exactly as saved
/// or is refused.
/// </summary>
public static class CheckpointStore
{
    public const string ModelFile = "model.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string ConfigFile = "config.json";
    public const string StateFile = "state.json";
    public const string ManifestFile = "manifest.json";

    private static readonly string[] ReservedNames = [ModelFile, OptimizerFile, ConfigFile, StateFile, ManifestFile];

    // UTF-8 without a byte-order mark, so the JSON files read the same in any tool.
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <exception cref="CheckpointException">An extra file has an unusable name, or a file cannot be written.</exception>
    public static void Save(string directory, CheckpointContents contents)
    {
        if (contents.StreamedFiles.Keys.FirstOrDefault(contents.ExtraFiles.ContainsKey) is { } twice)
        {
            throw new CheckpointException($"cannot save checkpoint '{directory}': extra file '{twice}' is given twice, as bytes and as a stream; give it once");
        }
        var extraFiles = contents.ExtraFiles.Select(f => (f.Key, Write: (Action<Stream>)(s => s.Write(f.Value))))
            .Concat(contents.StreamedFiles.Select(f => (f.Key, Write: f.Value)))
            .OrderBy(f => f.Key, StringComparer.Ordinal).ToList();
        foreach (var (name, _) in extraFiles)
        {
            if (!IsPlainName(name) || ReservedNames.Contains(name, StringComparer.Ordinal))
            {
                throw new CheckpointException(
                    $"cannot save checkpoint '{directory}': extra file name '{name}' is not allowed; use a plain file name "
                    + $"like 'tokenizer.json' (no directories, not starting with '.', not one of {string.Join(", ", ReservedNames)})");
            }
        }
        Directory.CreateDirectory(directory);
        // Drop the old manifest first: if this save is interrupted, the directory then reads as
        // unfinished instead of as a mix of old and new files.
        File.Delete(Path.Combine(directory, ManifestFile));

        var entries = new List<ManifestEntry>
        {
            WriteFile(directory, ModelFile, s => SafeTensors.Write(s, AsTuples(contents.ModelTensors))),
            WriteFile(directory, OptimizerFile, s => SafeTensors.Write(s, AsTuples(contents.OptimizerTensors))),
            WriteFile(directory, ConfigFile, s => s.Write(Utf8.GetBytes(contents.ConfigJson))),
            WriteFile(directory, StateFile, s => s.Write(Utf8.GetBytes(contents.StateJson))),
        };
        foreach (var (name, write) in extraFiles)
        {
            entries.Add(WriteFile(directory, name, write));
        }
        var manifest = new CheckpointManifest(CheckpointManifest.CurrentFormatVersion, entries);
        WriteFile(directory, ManifestFile, manifest.Write);
    }

    /// <summary>Loads a checkpoint after checking every file's size and SHA-256 against manifest.json.</summary>
    /// <exception cref="CheckpointException">The directory is not a complete checkpoint, or any file is missing or damaged.</exception>
    public static CheckpointContents Load(string directory)
    {
        var manifest = ReadManifest(directory);
        foreach (var entry in manifest.Files)
        {
            Verify(directory, entry);
        }
        var extraNames = manifest.Files.Select(f => f.Name).Except(ReservedNames, StringComparer.Ordinal);
        return new CheckpointContents
        {
            ModelTensors = ReadTensors(directory, ModelFile),
            OptimizerTensors = ReadTensors(directory, OptimizerFile),
            ConfigJson = ReadText(directory, ConfigFile),
            StateJson = ReadText(directory, StateFile),
            ExtraFiles = extraNames.ToDictionary(n => n, n => File.ReadAllBytes(Path.Combine(directory, n)), StringComparer.Ordinal),
        };
    }

    private static ManifestEntry WriteFile(string directory, string name, Action<Stream> write)
    {
        var path = Path.Combine(directory, name);
        try
        {
            AtomicFile.Write(path, write);
            var digest = FileDigest.Of(path);
            return new ManifestEntry(name, digest.Size, digest.Sha256);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"cannot save checkpoint file '{path}': {e.Message}", e);
        }
    }

    private static CheckpointManifest ReadManifest(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new CheckpointException($"checkpoint directory '{directory}' does not exist; check the path");
        }
        var path = Path.Combine(directory, ManifestFile);
        if (!File.Exists(path))
        {
            throw new CheckpointException(
                $"checkpoint '{directory}' has no {ManifestFile}: its save did not finish, or this is not a checkpoint "
                + "directory; resume from another checkpoint");
        }
        CheckpointManifest manifest;
        try
        {
            manifest = CheckpointManifest.Read(path);
        }
        catch (JsonException e)
        {
            throw Corrupt(directory, $"{ManifestFile} cannot be read ({e.Message})", e);
        }
        if (manifest.FormatVersion != CheckpointManifest.CurrentFormatVersion)
        {
            throw new CheckpointException(
                $"checkpoint '{directory}' has {ManifestFile} format_version {manifest.FormatVersion}, but this build reads "
                + $"version {CheckpointManifest.CurrentFormatVersion}; load it with the build that saved it");
        }
        if (manifest.Files.FirstOrDefault(f => !IsPlainName(f.Name)) is { } outside)
        {
            throw Corrupt(directory, $"{ManifestFile} lists '{outside.Name}', which is not a plain file name in the checkpoint directory");
        }
        var listed = manifest.Files.Select(f => f.Name).ToList();
        if (listed.Distinct(StringComparer.Ordinal).Count() != listed.Count)
        {
            throw Corrupt(directory, $"{ManifestFile} lists a file more than once");
        }
        foreach (var required in new[] { ModelFile, OptimizerFile, ConfigFile, StateFile })
        {
            if (!listed.Contains(required, StringComparer.Ordinal))
            {
                throw Corrupt(directory, $"{ManifestFile} does not list {required}");
            }
        }
        return manifest;
    }

    private static void Verify(string directory, ManifestEntry expected)
    {
        var path = Path.Combine(directory, expected.Name);
        var found = File.Exists(path) ? FileDigest.Of(path) : null;
        if (found is null || found.Size != expected.Size || !string.Equals(found.Sha256, expected.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            var actual = found is null ? "the file is missing" : $"found {found.Size} bytes, SHA-256 {found.Sha256}";
            throw Corrupt(directory,
                $"{expected.Name} does not match {ManifestFile} (expected {expected.Size} bytes, SHA-256 {expected.Sha256}; {actual})");
        }
    }

    private static List<NamedTensor> ReadTensors(string directory, string name)
    {
        try
        {
            return SafeTensors.Read(Path.Combine(directory, name)).Tensors.ToList();
        }
        catch (InvalidDataException e)
        {
            // Checksums matched, so the file is as saved; it was already malformed when written.
            throw new CheckpointException($"checkpoint '{directory}' is corrupt: {e.Message}", e);
        }
    }

    private static string ReadText(string directory, string name)
    {
        try
        {
            return Utf8.GetString(File.ReadAllBytes(Path.Combine(directory, name)));
        }
        catch (DecoderFallbackException e)
        {
            throw Corrupt(directory, $"{name} is not UTF-8 text", e);
        }
    }

    /// <summary>Files must sit directly in the checkpoint directory, never elsewhere via "../" or a rooted path.</summary>
    private static bool IsPlainName(string name) =>
        name.Length > 0
        && name == Path.GetFileName(name)
        && name.IndexOfAny(['/', '\\', '\0']) < 0
        && !name.StartsWith('.'); // dot-files are AtomicFile's temporaries, and "." and ".." are not files

    private static IEnumerable<(string name, int[] shape, ReadOnlyMemory<float> data)> AsTuples(IEnumerable<NamedTensor> tensors) =>
        tensors.Select(t => (t.Name, t.Shape, t.Data));

    private static CheckpointException Corrupt(string directory, string what, Exception? inner = null)
    {
        var message = $"checkpoint '{directory}' is corrupt: {what}. Restore the file or resume from another checkpoint.";
        return inner is null ? new CheckpointException(message) : new CheckpointException(message, inner);
    }
}

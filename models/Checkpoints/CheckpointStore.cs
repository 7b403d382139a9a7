using System.Text.Json;
using System.Text;
using Distributed.Models.Config;

namespace Distributed.Models.Checkpoints;

/// <summary>What a folder holds, as <see cref="CheckpointStore.Presence"/> finds it.</summary>
public enum CheckpointPresence
{
    None,
    Finished,
    Unfinished,
}

/// <summary>
/// Saves and loads a checkpoint directory: model.safetensors, optimizer.safetensors, config.json,
/// state.json, any extra files, and manifest.json with every file's size and SHA-256. A save writes
/// the new files beside the old checkpoint, then moves them over it with the manifest last, so a
/// process killed mid-save leaves the old checkpoint or the new one, and a checkpoint either loads
/// exactly as saved or is refused.
/// </summary>
public static class CheckpointStore
{
    public const string ModelFile = "model.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string ConfigFile = "config.json";
    public const string StateFile = "state.json";
    public const string ManifestFile = "manifest.json";

    /// <summary>Where a save writes the new checkpoint before moving it over the old one (a dot name: never a checkpoint file).</summary>
    public const string StagingFolder = ".checkpoint-next";

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
        // The new checkpoint is written beside the old one and only then moved over it (renames), with the
        // manifest last; a save killed at any moment leaves the old checkpoint or the new one to load (Recover).
        var staging = Path.Combine(directory, StagingFolder);
        Recover(directory);
        DeleteStaging(directory);
        var entries = new List<ManifestEntry>
        {
            WriteFile(staging, ModelFile, s => SafeTensors.Write(s, AsTuples(contents.ModelTensors))),
            WriteFile(staging, OptimizerFile, s => SafeTensors.Write(s, AsTuples(contents.OptimizerTensors))),
            WriteFile(staging, ConfigFile, s => s.Write(Utf8.GetBytes(contents.ConfigJson))),
            WriteFile(staging, StateFile, s => s.Write(Utf8.GetBytes(contents.StateJson))),
        };
        foreach (var (name, write) in extraFiles)
        {
            entries.Add(WriteFile(staging, name, write));
        }
        var manifest = new CheckpointManifest(CheckpointManifest.CurrentFormatVersion, entries);
        WriteFile(staging, ManifestFile, manifest.Write);
        Commit(directory, manifest);
    }

    /// <summary>
    /// Finishes a save that was killed after its new checkpoint was complete beside the old one (the staging
    /// folder has its manifest): moves what is left of it into place. A staging folder without a manifest is
    /// an unfinished write and is left for the next save to clear; the checkpoint in place is the valid one.
    /// </summary>
    public static void Recover(string directory)
    {
        var staged = Path.Combine(directory, StagingFolder, ManifestFile);
        if (!File.Exists(staged))
        {
            return;
        }
        CheckpointManifest manifest;
        try
        {
            manifest = CheckpointManifest.Read(staged);
        }
        catch (JsonException e)
        {
            throw Corrupt(Path.Combine(directory, StagingFolder), $"{ManifestFile} cannot be read ({e.Message})", e);
        }
        Commit(directory, manifest);
    }

    /// <summary>The old manifest goes first (from then on the folder reads as unfinished, never as a mix), the new one last.</summary>
    private static void Commit(string directory, CheckpointManifest manifest)
    {
        var staging = Path.Combine(directory, StagingFolder);
        try
        {
            File.Delete(Path.Combine(directory, ManifestFile));
            foreach (var entry in manifest.Files.Where(f => IsPlainName(f.Name)))
            {
                // Already moved when a killed commit is finished.
                if (File.Exists(Path.Combine(staging, entry.Name)))
                {
                    File.Move(Path.Combine(staging, entry.Name), Path.Combine(directory, entry.Name), overwrite: true);
                }
            }
            File.Move(Path.Combine(staging, ManifestFile), Path.Combine(directory, ManifestFile), overwrite: true);
            DeleteStaging(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"cannot move the new checkpoint from '{staging}' into '{directory}': {e.Message}", e);
        }
    }

    private static void DeleteStaging(string directory)
    {
        var staging = Path.Combine(directory, StagingFolder);
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>
    /// What <paramref name="directory"/> holds: no checkpoint, a finished one (its manifest is there; <see cref="Load"/>
    /// verifies it, after <see cref="Recover"/> finishes a killed save), or the files of a save that never finished (no manifest).
    /// </summary>
    public static CheckpointPresence Presence(string directory)
        => File.Exists(Path.Combine(directory, ManifestFile)) || File.Exists(Path.Combine(directory, StagingFolder, ManifestFile)) ? CheckpointPresence.Finished
            : ReservedNames.Any(name => File.Exists(Path.Combine(directory, name))) ? CheckpointPresence.Unfinished
            : CheckpointPresence.None;

    /// <summary>Loads a checkpoint after checking every file's size and SHA-256 against manifest.json.</summary>
    /// <exception cref="CheckpointException">The directory is not a complete checkpoint, or any file is missing or damaged.</exception>
    /// <remarks>
    /// Read-only: a reader (sample, evaluate) may look at a live run's folder while it saves, so only the
    /// folder's owner, resuming, calls <see cref="Recover"/> first.
    /// </remarks>
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

namespace Distributed.Models;

/// <summary>
/// Writes a file through a temporary file in the same directory and a rename, so a crash or a concurrent
/// reader never sees it half-written (a partial corpus in the cache, a truncated tokenizer beside a checkpoint).
/// </summary>
internal static class AtomicFile
{
    public static void Write(string path, ReadOnlySpan<byte> contents)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        // The process id keeps ranks that save into one shared directory from writing the same temporary file.
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            File.WriteAllBytes(temporary, contents);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}

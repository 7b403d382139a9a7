namespace Distributed.Models.Checkpoints;

/// <summary>
/// Replaces a file all at once: readers see the old contents or the new, never a half-written
/// file, even if the process dies mid-write.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Runs <paramref name="write"/> on a temporary file beside <paramref name="path"/> (same
    /// directory, so same file system, so the rename is atomic), forces it to disk, then renames it
    /// over <paramref name="path"/>. If <paramref name="write"/> throws, the target is untouched and
    /// the temporary file is removed.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<byte> contents)
    {
        var bytes = contents.ToArray();
        Write(path, stream => stream.Write(bytes));
    }

    public static void Write(string path, Action<Stream> write)
    {
        var fullPath = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20))
            {
                write(stream);
                // fsync before the rename: otherwise a crash can leave the new name pointing at
                // data the disk never received.
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
        // The directory entry itself is not fsynced (.NET has no portable way to), so after a power
        // cut the old file may reappear; a torn file cannot.
    }
}

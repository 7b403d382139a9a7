using System.IO.MemoryMappedFiles;
using System.Security.Cryptography;

namespace Distributed.Protocol;

/// <summary>
/// One process's mapping of a shared-memory file of the data plane (in /dev/shm, so RAM, not disk):
/// a 4 KiB header whose first 32 bytes are a random proof, then a float32 buffer. The coordinator
/// creates it (owner-only, in an owner-only folder, so only a process of the same user on the same
/// host can open it) and deletes it when disposed; a worker opens it by the path the coordinator
/// offered and reads the proof back to show it can. Owns its mapping: disposing unmaps it.
/// </summary>
public sealed unsafe class SharedMemoryFile : IDisposable
{
    public const int HeaderBytes = 4096;
    public const int ProofBytes = 32;

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly bool _owner;
    private byte* _base;

    private SharedMemoryFile(string path, FileStream stream, long elements, bool writable, bool owner)
    {
        (Path, Elements, _owner) = (path, elements, owner);
        var access = writable ? MemoryMappedFileAccess.ReadWrite : MemoryMappedFileAccess.Read;
        try
        {
            _file = MemoryMappedFile.CreateFromFile(stream, null, 0, access, HandleInheritability.None, leaveOpen: false);
            _view = _file.CreateViewAccessor(0, 0, access);
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _base);
        }
        catch
        {
            _view?.Dispose();
            _file?.Dispose();
            stream.Dispose();
            throw;
        }
    }

    public string Path { get; }

    /// <summary>Float32 values after the header.</summary>
    public long Elements { get; }

    public ReadOnlySpan<byte> Proof => new(_base, ProofBytes);

    /// <summary><paramref name="length"/> values from element <paramref name="start"/>: valid until disposal.</summary>
    public Span<float> Values(long start, int length)
    {
        ObjectDisposedException.ThrowIf(_base is null, this);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + length, Elements);
        return new Span<float>((float*)(_base + HeaderBytes) + start, length);
    }

    /// <summary>Creates a file of <paramref name="elements"/> values with a fresh random proof (fails if the path exists).</summary>
    public static SharedMemoryFile Create(string path, long elements)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.ReadWrite };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;   // owner only
        }
        var stream = new FileStream(path, options);
        try
        {
            stream.SetLength(HeaderBytes + elements * sizeof(float));   // sparse: pages are taken as they are written
            stream.Write(RandomNumberGenerator.GetBytes(ProofBytes));
            stream.Flush();
        }
        catch
        {
            stream.Dispose();
            File.Delete(path);
            throw;
        }
        return new SharedMemoryFile(path, stream, elements, writable: true, owner: true);
    }

    /// <summary>Opens a file the coordinator created; it must hold exactly <paramref name="elements"/> values.</summary>
    public static SharedMemoryFile Open(string path, long elements, bool writable)
    {
        var stream = new FileStream(path, FileMode.Open, writable ? FileAccess.ReadWrite : FileAccess.Read, FileShare.ReadWrite);
        if (stream.Length != HeaderBytes + elements * sizeof(float))
        {
            var length = stream.Length;
            stream.Dispose();
            throw new InvalidDataException($"Shared-memory file {path} holds {length} bytes, not the {HeaderBytes + elements * sizeof(float)} of a {elements}-value gradient.");
        }
        return new SharedMemoryFile(path, stream, elements, writable, owner: false);
    }

    /// <summary>Constant-time check of a proof a worker sent back.</summary>
    public bool Proves(ReadOnlySpan<byte> proof) => proof.Length == ProofBytes && CryptographicOperations.FixedTimeEquals(proof, Proof);

    public void Dispose()
    {
        if (_base is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _base = null;
        }
        _view.Dispose();
        _file.Dispose();
        if (_owner)
        {
            File.Delete(Path);
        }
    }
}

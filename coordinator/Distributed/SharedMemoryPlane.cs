using System.Diagnostics;
using Distributed.Protocol;
using Distributed.Protocol.V1;

namespace Distributed.Coordinator.Distributed;

/// <summary>
/// The shared-memory data plane for workers on the coordinator's host (one worker per GPU on one node
/// is exactly this case): each such worker writes its gradient into its own file, the coordinator
/// writes the averaged gradient once into the run's reduced file that they all map, and the AllReduce
/// stream carries only control messages. The files live in an owner-only folder under /dev/shm, so
/// only a process of the same user on this host can open them; a worker proves it did by sending back
/// the random bytes at the start of its file. Anything else (another host, another container, another
/// user) falls back to gRPC. Files of dropped workers are deleted at the next offer; all of them when
/// the host stops.
/// </summary>
public sealed class SharedMemoryPlane : IReducedDelivery, IReducedMirror, IDisposable
{
    private const string FolderPrefix = "distributed-gpt-";

    private readonly Lock _gate = new();
    private readonly string? _folder;   // null: no shared memory (turned off, or no /dev/shm here)
    private readonly long _elements;
    private readonly string _bootId = HostIdentity.BootId();
    private readonly Dictionary<WorkerSlot, SharedMemoryFile> _gradients = [];
    private readonly ILogger _log;
    private SharedMemoryFile? _reduced;
    private bool _disposed;

    private SharedMemoryPlane(string? folder, long elements, ILogger log) => (_folder, _elements, _log) = (folder, elements, log);

    /// <summary>The plane for a run of <paramref name="elements"/> gradient values; it offers nothing when <paramref name="enabled"/> is false or this host has no /dev/shm.</summary>
    public static SharedMemoryPlane Create(string runId, long elements, bool enabled, ILogger log)
    {
        const string root = "/dev/shm";
        if (!enabled || OperatingSystem.IsWindows() || !Directory.Exists(root))
        {
            return new SharedMemoryPlane(null, elements, log);
        }
        RemoveStale(root, log);
        var folder = Path.Combine(root, $"{FolderPrefix}{Environment.ProcessId}-{runId}");
        Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return new SharedMemoryPlane(folder, elements, log);
    }

    /// <summary>
    /// Files for <paramref name="worker"/> when its boot id says it runs on this host (null otherwise):
    /// its gradient file, and the run's reduced file.
    /// </summary>
    public SharedMemoryOffer? Offer(WorkerSlot worker, string bootId)
    {
        if (_folder is null || bootId.Length == 0 || bootId != _bootId)
        {
            return null;
        }
        lock (_gate)
        {
            if (_disposed)
            {
                return null;
            }
            foreach (var dropped in _gradients.Keys.Where(w => w.Dropped).ToList())
            {
                _gradients.Remove(dropped, out var file);
                file!.Dispose();
            }
            try
            {
                _reduced ??= SharedMemoryFile.Create(Path.Combine(_folder, "reduced"), _elements);
                var gradient = SharedMemoryFile.Create(Path.Combine(_folder, $"gradient-{worker.Id}"), _elements);
                _gradients.Add(worker, gradient);
                return new SharedMemoryOffer { GradientFile = gradient.Path, ReducedFile = _reduced.Path };
            }
            catch (IOException e)
            {
                _log.LogWarning("No shared memory for {Worker} ({Error}); it uses gRPC", worker, e.Message);
                return null;
            }
        }
    }

    /// <summary>The worker's gradient file if <paramref name="proof"/> shows it opened it; null otherwise.</summary>
    public SharedMemoryFile? Proven(WorkerSlot worker, ReadOnlySpan<byte> proof)
    {
        lock (_gate)
        {
            return _gradients.TryGetValue(worker, out var file) && file.Proves(proof) ? file : null;
        }
    }

    /// <summary>Shared-memory members read the reduced gradient from the file (<see cref="Write"/>): nothing goes on their streams.</summary>
    public ReduceReply? Deliver(in ReducedBucketView reduced) => null;

    /// <summary>The reduced file's values, where the reduction sums each bucket (0 while no shared-memory member joined).</summary>
    public unsafe nint Values(long elements)
    {
        lock (_gate)
        {
            if (_reduced is null || _disposed)
            {
                return 0;
            }
            fixed (float* values = _reduced.Values(0, (int)elements))
            {
                return (nint)values;   // a mapping stays put: the address holds until the file is disposed, after the run
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            foreach (var file in _gradients.Values)
            {
                file.Dispose();
            }
            _gradients.Clear();
            _reduced?.Dispose();
            if (_folder is not null)
            {
                Directory.Delete(_folder, recursive: true);
            }
        }
    }

    /// <summary>Folders left by coordinators that were killed (their process id no longer runs): RAM, not disk, so worth reclaiming.</summary>
    private static void RemoveStale(string root, ILogger log)
    {
        foreach (var folder in Directory.EnumerateDirectories(root, FolderPrefix + "*"))
        {
            var name = Path.GetFileName(folder)[FolderPrefix.Length..];
            if (int.TryParse(name.Split('-')[0], out var pid) && !Running(pid))
            {
                try
                {
                    Directory.Delete(folder, recursive: true);
                    log.LogInformation("Removed {Folder}, left by a coordinator that is gone", folder);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Another user's, or in use: not ours to remove.
                }
            }
        }
    }

    private static bool Running(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}

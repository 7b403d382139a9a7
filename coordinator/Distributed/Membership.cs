using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Distributed.Coordinator.Distributed;

/// <summary>
/// Who takes part in a run: the roster of workers that joined, the members of the current generation
/// in rank order, admission and drops. Bounded: names are short, the roster has a capacity, and
/// dropped workers are forgotten after the last <see cref="RememberedDrops"/> (long enough for them to
/// hear that they were dropped). Called under the run's lock, except <see cref="Find"/> and
/// <see cref="Authenticate"/>, which read the concurrent roster (heartbeats use them without the lock).
/// </summary>
public sealed class Membership(int capacity, TimeSpan readyWindow)
{
    public const int MaxNameLength = 64;
    public const int MaxDeviceLength = 32;
    public const int RememberedDrops = 64;

    private readonly ConcurrentDictionary<string, WorkerSlot> _roster = new();
    private readonly Queue<WorkerSlot> _dropped = new();
    private readonly List<WorkerSlot> _members = [];
    private long _joined;

    /// <summary>Members of the current generation; index = rank.</summary>
    public IReadOnlyList<WorkerSlot> Members => _members;

    /// <summary>Bumped by every new generation (a change of members, or a re-shard at an epoch's end).</summary>
    public long Generation { get; private set; }

    /// <summary>Workers that joined and were not dropped: members and those waiting to be admitted.</summary>
    public IEnumerable<WorkerSlot> Live => _roster.Values.Where(w => !w.Dropped);

    public bool AllGone => _roster.Values.All(w => w.Dropped);

    /// <summary>Every worker still remembered: the live ones and the last <see cref="RememberedDrops"/> dropped.</summary>
    public IEnumerable<WorkerSlot> Roster => _roster.Values;

    public (WorkerSlot? Slot, Refusal? Refusal) Join(string name, string device, long now, string? host = null)
    {
        if ((Problem(name, "worker_name", MaxNameLength) ?? Problem(device, "device", MaxDeviceLength)) is { } problem)
        {
            return (null, new Refusal(RefusalKind.InvalidData, problem));
        }
        if (Live.Count() >= capacity)
        {
            return (null, new Refusal(RefusalKind.Full,
                $"The run already has {capacity} workers, as many as it takes; start no more workers than --workers allows, or a new run."));
        }
        var slot = new WorkerSlot(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)), name, device, now, ++_joined, host);
        _roster[slot.Id] = slot;
        return (slot, null);
    }

    /// <summary>The worker behind an id, live or recently dropped; null when unknown (never joined, or forgotten).</summary>
    public WorkerSlot? Find(string workerId) => _roster.GetValueOrDefault(workerId);

    /// <summary>The caller, if its secret proves it is the worker it names.</summary>
    public (WorkerSlot? Slot, Refusal? Refusal) Authenticate(string workerId, string? secret)
    {
        if (Find(workerId) is not { } slot)
        {
            return (null, new Refusal(RefusalKind.UnknownWorker, $"Unknown worker '{Shorten(workerId)}': join first."));
        }
        return slot.Proves(secret)
            ? (slot, null)
            : (null, new Refusal(RefusalKind.Unauthenticated,
                $"The credential does not prove worker '{slot.Id}': every call after Join must carry that worker's own secret."));
    }

    /// <summary>Live workers that are not members and asked for work recently: the ones that can be admitted.</summary>
    public IEnumerable<WorkerSlot> Ready(long now)
        => Live.Where(w => w.Rank < 0 && now - w.LastAsked <= readyWindow.TotalMilliseconds).OrderBy(w => w.Sequence);

    /// <summary>Ranks <paramref name="members"/> 0..n-1 and starts a new generation; everyone else waits.</summary>
    public void NewGeneration(IReadOnlyList<WorkerSlot> members)
    {
        foreach (var slot in _roster.Values)
        {
            slot.Rank = -1;
        }
        _members.Clear();
        _members.AddRange(members);
        for (var rank = 0; rank < _members.Count; rank++)
        {
            _members[rank].Rank = rank;
        }
        Generation++;
    }

    /// <summary>The current members that are still live, then the ready newcomers, at most <paramref name="maxMembers"/>.</summary>
    public List<WorkerSlot> NextMembers(long now, int maxMembers)
        => _members.Where(m => !m.Dropped).Concat(Ready(now)).Take(maxMembers).ToList();

    /// <summary>Marks a worker dropped and takes it out of the members; returns whether it was one.</summary>
    public bool Drop(WorkerSlot slot, string reason)
    {
        if (slot.Dropped)
        {
            return false;
        }
        (slot.Dropped, slot.DropReason) = (true, reason);
        _dropped.Enqueue(slot);
        while (_dropped.Count > RememberedDrops)
        {
            _roster.TryRemove(_dropped.Dequeue().Id, out _);
        }
        return _members.Remove(slot);
    }

    private static string? Problem(string value, string field, int maxLength)
    {
        if (value.Length == 0 || value.Length > maxLength)
        {
            return $"{field} must be 1 to {maxLength} characters, not {value.Length}; pass a shorter --name.";
        }
        return value.Any(Unprintable) ? $"{field} '{Shorten(value)}' holds control or formatting characters; use printable characters." : null;
    }

    /// <summary>A value from the network, cut and cleaned before it reaches a log line.</summary>
    public static string Shorten(string value)
    {
        var cut = value.Length > MaxNameLength ? value[..MaxNameLength] + "…" : value;
        return new string(cut.Select(c => Unprintable(c) ? '?' : c).ToArray());
    }

    /// <summary>Control characters, and formatting ones such as bidirectional overrides, which could rewrite a log line.</summary>
    private static bool Unprintable(char c)
        => char.IsControl(c) || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format;
}

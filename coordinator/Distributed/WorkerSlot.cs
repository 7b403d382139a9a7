using System.Security.Cryptography;
using System.Text;

namespace Distributed.Coordinator.Distributed;

/// <summary>What the coordinator knows about one worker that joined.</summary>
public sealed class WorkerSlot
{
    private readonly byte[] _secret;
    private long _lastSeen, _lastAsked;
    private volatile bool _dropped;

    public WorkerSlot(string id, string name, string device, long now, long sequence, string? host = null)
    {
        (Id, Name, Device, Sequence, Host) = (id, name, device, sequence, host);
        Secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        _secret = Encoding.ASCII.GetBytes(Secret);
        _lastSeen = now;
        _lastAsked = long.MinValue / 2;
    }

    public string Id { get; }

    public string Name { get; }

    public string Device { get; }

    /// <summary>The address the worker joined from, as the coordinator saw it (null when unknown, e.g. in-process tests).</summary>
    public string? Host { get; }

    /// <summary>The credential Join hands this worker; every later call must present it.</summary>
    public string Secret { get; }

    /// <summary>The order of joining: newcomers are admitted, and so ranked, in it.</summary>
    public long Sequence { get; }

    /// <summary>Position in the current generation; -1 while waiting to be admitted.</summary>
    public int Rank { get; set; } = -1;

    public bool Dropped { get => _dropped; set => _dropped = value; }

    public string? DropReason { get; set; }

    /// <summary>Environment.TickCount64 of the last sign of life (any authenticated call; heartbeats set it without the run's lock).</summary>
    public long LastSeen { get => Volatile.Read(ref _lastSeen); set => Volatile.Write(ref _lastSeen, value); }

    /// <summary>When the worker last asked for work: only workers that keep asking are admitted (a joined worker that went silent is not).</summary>
    public long LastAsked { get => Volatile.Read(ref _lastAsked); set => Volatile.Write(ref _lastAsked, value); }

    /// <summary>The member's open data-plane link, if any, and the generation it was opened for.</summary>
    public IGradientLink? Link { get; private set; }

    public long LinkGeneration { get; private set; }

    /// <summary>The data plane its last link ran on (logged when it changes).</summary>
    public string? Transport { get; set; }

    /// <summary>Under the run's lock: a state download of this worker is under way (one at a time).</summary>
    public bool Downloading { get; set; }

    /// <summary>
    /// Under the run's lock: the optimizer steps in this worker's replica, as it last said when asking for
    /// work and as the steps closed since (-1: it holds none of the run's state).
    /// </summary>
    public long StateStep { get; set; } = -1;

    public void Attach(IGradientLink link, long generation) => (Link, LinkGeneration) = (link, generation);

    /// <summary>Closes and forgets the link, if it is <paramref name="link"/> (or any, when null).</summary>
    public void Detach(IGradientLink? link, bool membershipChanged)
    {
        if (Link is { } current && (link is null || link == current))
        {
            Link = null;
            current.Close(membershipChanged);
        }
    }

    /// <summary>Fixed-time comparison, so the secret cannot be guessed byte by byte from response times.</summary>
    public bool Proves(string? secret)
        => secret is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(secret), _secret);

    public override string ToString() => Rank >= 0 ? $"rank {Rank} ({Name}, {Id})" : $"{Name} ({Id})";
}

using System.Threading.Channels;
using Distributed.Protocol.V1;

namespace Distributed.Coordinator.Distributed;

/// <summary>What the coordinator knows about one worker.</summary>
public sealed class WorkerSlot(string id, string name)
{
    public string Id { get; } = id;

    public string Name { get; } = name;

    /// <summary>Position in the current membership; -1 while waiting to be admitted.</summary>
    public int Rank { get; set; } = -1;

    private long _lastSeen = Environment.TickCount64;
    private volatile bool _dropped;

    public bool Dropped { get => _dropped; set => _dropped = value; }

    public string? DropReason { get; set; }

    /// <summary>Environment.TickCount64 of the worker's last sign of life (heartbeats set it without the run's lock).</summary>
    public long LastSeen { get => Volatile.Read(ref _lastSeen); set => Volatile.Write(ref _lastSeen, value); }

    /// <summary>The open all-reduce stream's outgoing messages, if any.</summary>
    public Channel<ReduceReply>? Replies { get; set; }

    /// <summary>Fires when the open all-reduce stream must end (membership changed or the worker was dropped).</summary>
    public CancellationTokenSource? StreamAbort { get; set; }

    public override string ToString() => Rank >= 0 ? $"rank {Rank} ({Name}, {Id})" : $"{Name} ({Id})";
}

namespace Distributed.Coordinator.Distributed;

/// <summary>One worker as the dashboard's workers table shows it.</summary>
/// <param name="Rank">Its rank in the current generation; -1 while waiting or once dropped.</param>
/// <param name="Host">The address it joined from; null when unknown.</param>
/// <param name="Transport">The data plane of its last link; null before its first.</param>
/// <param name="SilentSeconds">Seconds since its last sign of life.</param>
/// <param name="Health">"ok", "waiting", "silent" (no sign of life for 3 heartbeats) or "lost: why".</param>
public sealed record WorkerView(int Rank, string Name, string? Host, string Device, string? Transport, double SilentSeconds, string Health)
{
    public static WorkerView Of(WorkerSlot slot, long now, TimeSpan heartbeat)
    {
        var silent = Math.Max(0, now - slot.LastSeen) / 1000.0;
        var health = slot.Dropped ? $"lost: {slot.DropReason}"
            : silent > 3 * heartbeat.TotalSeconds ? "silent"
            : slot.Rank < 0 ? "waiting"
            : "ok";
        return new WorkerView(slot.Rank, slot.Name, slot.Host, slot.Device, slot.Transport, silent, health);
    }
}

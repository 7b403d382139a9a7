namespace Distributed.Coordinator.Distributed;

/// <summary>What the run is waiting for its members to deliver.</summary>
public enum WaitKind
{
    Step,
    Validation,
}

/// <summary>
/// The clock side of the run's patience: which workers have been silent past the timeout, whether the
/// current step or validation has waited past the step timeout, and, well before that, when to warn
/// that it waits much longer than usual (the run then names whom it waits for and for what). Times
/// are Environment.TickCount64 milliseconds, passed in, so it can be tested without waiting.
/// </summary>
public sealed class LivenessWatch(TimeSpan timeout, TimeSpan stepTimeout)
{
    /// <summary>The first warning comes after this many usual durations of the same wait.</summary>
    private const double SlowFactor = 5;
    private static readonly TimeSpan FirstWarningFloor = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan FirstWarningUnknown = TimeSpan.FromSeconds(10);

    private readonly Dictionary<WaitKind, double> _typicalMs = [];
    private WaitKind _kind;
    private long _started, _nextWarning;
    private bool _waiting;

    public TimeSpan Timeout { get; } = timeout;

    public TimeSpan StepTimeout { get; } = stepTimeout;

    public void Begin(WaitKind kind, long now)
    {
        (_kind, _started, _waiting) = (kind, now, true);
        var usual = _typicalMs.TryGetValue(kind, out var typical)
            ? Math.Max(SlowFactor * typical, FirstWarningFloor.TotalMilliseconds)
            : FirstWarningUnknown.TotalMilliseconds;
        _nextWarning = now + (long)Math.Min(usual, StepTimeout.TotalMilliseconds / 2);
    }

    /// <summary>The wait ended as it should: its duration becomes part of what is usual.</summary>
    public void End(long now)
    {
        if (!_waiting)
        {
            return;
        }
        var took = now - _started;
        _typicalMs[_kind] = _typicalMs.TryGetValue(_kind, out var typical) ? 0.8 * typical + 0.2 * took : took;
        _waiting = false;
    }

    /// <summary>A wait that ended without completing (the members changed): nothing learned from it.</summary>
    public void Abandon() => _waiting = false;

    public bool Overdue(long now) => _waiting && now - _started > StepTimeout.TotalMilliseconds;

    public double WaitedSeconds(long now) => (now - _started) / 1000.0;

    /// <summary>
    /// A description of how long the wait has taken against the usual, when a warning is due: once it
    /// is several times the usual duration (at most half the step timeout), then every time it doubles.
    /// </summary>
    public string? DueWarning(long now)
    {
        if (!_waiting || now < _nextWarning)
        {
            return null;
        }
        _nextWarning = _started + 2 * (now - _started);
        var usual = _typicalMs.TryGetValue(_kind, out var typical) ? $"usually {typical / 1000:F1} s" : "the first of its kind";
        return $"{WaitedSeconds(now):F0} s ({usual}; --step-timeout {StepTimeout.TotalSeconds:F0} s)";
    }

    /// <summary>Workers with no sign of life for the timeout, and why they count as lost.</summary>
    public IEnumerable<(WorkerSlot Worker, string Reason)> Silent(IEnumerable<WorkerSlot> live, long now)
        => live.Where(w => now - w.LastSeen > Timeout.TotalMilliseconds)
            .Select(w => (w, $"no sign of life for {(now - w.LastSeen) / 1000.0:F1} s (timeout {Timeout.TotalSeconds:F0} s)"))
            .ToList();
}

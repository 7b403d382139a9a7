namespace Distributed.Coordinator.Distributed;

/// <summary>The run's own loop for heavy work, and the watch that drops the silent and names what holds a step up.</summary>
public sealed partial class DistributedRun
{
    private void Post(Action work) => _loop.Writer.TryWrite(work);

    private async Task RunLoop()
    {
        await foreach (var work in _loop.Reader.ReadAllAsync())
        {
            try
            {
                work();
            }
            catch (Exception e)
            {
                _log.LogError(e, "The run failed on its own loop");
                lock (_gate)
                {
                    _phase = RunPhase.Done;
                    CloseLinks();
                }
                _completion.TrySetException(e);
            }
        }
    }

    /// <summary>A few times a second: drop the silent, start when enough workers are ready, warn about and then drop what holds a step up.</summary>
    private async Task WatchAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    lock (_gate)
                    {
                        if (_phase == RunPhase.Done)
                        {
                            return;
                        }
                        Watch(Environment.TickCount64);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _log.LogError(e, "The run's watch failed a tick; it goes on");
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
    }

    private void Watch(long now)
    {
        foreach (var (worker, reason) in _watch.Silent(_membership.Live, now))
        {
            Drop(worker, reason);
        }
        TryStart(now);
        if (_phase is not (RunPhase.Training or RunPhase.Validating))
        {
            return;
        }
        var what = _phase == RunPhase.Training ? $"Step {_position.Step}" : $"The validation after step {_position.Step}";
        var stalled = Stalled();
        if (_watch.DueWarning(now) is { } waited && stalled.Count > 0)
        {
            _log.LogWarning("{What} has waited {Waited} for: {Whom}", what, waited, string.Join("; ", stalled.Select(s => $"{s.Member}: {s.Missing}")));
        }
        if (_watch.Overdue(now))
        {
            foreach (var (member, missing) in stalled)
            {
                Drop(member, $"alive but still owes {missing} for {what.ToLowerInvariant()} after {_watch.WaitedSeconds(now):F0} s (--step-timeout {_watch.StepTimeout.TotalSeconds:F0} s)");
            }
        }
    }

    /// <summary>Members holding up the current step (missing buckets) or validation (missing report), and what they owe.</summary>
    private List<(WorkerSlot Member, string Missing)> Stalled()
    {
        if (_phase == RunPhase.Validating)
        {
            return _validation?.Pending.Select(m => (m, "its validation report")).ToList() ?? [];
        }
        var members = _membership.Members;
        return _reduction.Missing.Select(m => (members[m.Rank], members[m.Rank].Link is null
            ? "its gradient (its all-reduce stream is not open: still fetching state or shard?)"
            : m.Received == 0 ? $"its gradient (none of {_reduction.BucketCount} buckets yet)"
            : $"{_reduction.BucketCount - m.Received} of {_reduction.BucketCount} gradient buckets")).ToList();
    }
}

using Distributed.Models.Experiments;

namespace Distributed.Coordinator.Dashboard;

/// <summary>
/// What the dashboard shows of a sweep: every trial as the experiment store records it (status, best
/// validation loss), the running ones' live step and loss from their attempt's <see cref="RunBoard"/>,
/// and the charts of the running trial with the lowest index. Thread-safe: trials run side by side.
/// </summary>
/// <param name="parameters">Each trial's swept values, as the log describes them.</param>
/// <param name="records">The store's trials of this sweep (read at every poll; the store is thread-safe).</param>
public sealed class SweepBoard(IReadOnlyDictionary<int, string> parameters, Func<IReadOnlyList<TrialRow>> records)
{
    private readonly Lock _gate = new();
    private readonly SortedDictionary<int, RunBoard> _running = [];

    /// <summary>A new attempt of trial <paramref name="index"/> starts: the board its run feeds.</summary>
    public RunBoard Begin(int index)
    {
        var board = new RunBoard();
        lock (_gate)
        {
            _running[index] = board;
        }
        return board;
    }

    /// <summary>The attempt is over (finished, stopped or failed): the store has its outcome.</summary>
    public void End(int index)
    {
        lock (_gate)
        {
            _running.Remove(index);
        }
    }

    public DashboardSnapshot Snapshot()
    {
        List<KeyValuePair<int, RunBoard>> running;
        lock (_gate)
        {
            running = [.. _running];
        }
        var live = running.ToDictionary(r => r.Key, r => r.Value.Snapshot());
        var trials = records().Select(t =>
        {
            var run = live.GetValueOrDefault(t.Index);
            return new TrialView(t.Index, parameters.GetValueOrDefault(t.Index, ""), run is null ? t.Status : TrialStatus.Running,
                run?.Step ?? 0, run?.TotalSteps ?? 0,
                run?.Train.Losses.Count > 0 ? run.Train.Losses[^1] : double.NaN,
                t.BestValLoss ?? double.NaN);
        }).ToList();
        var shown = live.Count > 0 ? live.MinBy(r => r.Key) : (KeyValuePair<int, RunSnapshot>?)null;
        return new DashboardSnapshot(shown is { } s ? s.Value with { Title = $"trial {s.Key}, {s.Value.Title}" } : null, trials);
    }
}

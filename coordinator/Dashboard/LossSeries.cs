namespace Distributed.Coordinator.Dashboard;

/// <summary>
/// A loss curve of bounded size: every point until <see cref="Capacity"/>, then every other one is
/// dropped and only every second new point is kept (and so on), so a run of any length stays a
/// few thousand points that span it whole. Not thread-safe: its owner locks.
/// </summary>
public sealed class LossSeries(int capacity)
{
    private readonly List<int> _steps = [];
    private readonly List<float> _losses = [];
    private int _stride = 1, _skipped;

    public int Capacity => capacity;

    public int Count => _steps.Count;

    public void Add(int step, float loss)
    {
        if (++_skipped < _stride)
        {
            return;
        }
        _skipped = 0;
        if (_steps.Count == capacity)
        {
            Thin(_steps);
            Thin(_losses);
            _stride *= 2;
        }
        _steps.Add(step);
        _losses.Add(loss);
    }

    public LossCurve Copy() => new([.. _steps], [.. _losses]);

    /// <summary>Keeps the points at even positions.</summary>
    private static void Thin<T>(List<T> values)
    {
        var kept = 0;
        for (var i = 0; i < values.Count; i += 2)
        {
            values[kept++] = values[i];
        }
        values.RemoveRange(kept, values.Count - kept);
    }
}

/// <summary>A loss curve as the page draws it: steps and losses (nats per token), side by side.</summary>
public sealed record LossCurve(IReadOnlyList<int> Steps, IReadOnlyList<float> Losses);

using System.Diagnostics;
using System.Globalization;
using Distributed.Coordinator.Distributed;
using Distributed.Models.Training;

namespace Distributed.Coordinator.Dashboard;

/// <summary>
/// What the dashboard shows of one data-parallel run, kept up to date as the run reports it (the same
/// <see cref="IRunMetrics"/> calls as the Prometheus metrics, and its Validated event) and read as a
/// <see cref="RunSnapshot"/> by the page's polls. Thread-safe; the run calls it under its own lock, so
/// it only records, and a snapshot reads the run's roster before taking this board's lock.
/// </summary>
public sealed class RunBoard : IRunMetrics
{
    /// <summary>Points per loss curve before it is thinned (<see cref="LossSeries"/>).</summary>
    public const int MaxPoints = 4096;

    /// <summary>Throughput and ETA are measured over the steps closed this recently.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private const int MaxWindowSamples = 1024;

    private readonly Lock _gate = new();
    private IReadOnlyList<ConfigItem> _summary = [];
    private readonly LossSeries _train = new(MaxPoints), _validation = new(MaxPoints);
    private readonly Queue<(long Timestamp, int Step, long Tokens)> _recent = new();
    private readonly Dictionary<int, double> _rankSeconds = [];
    private readonly long _created = Stopwatch.GetTimestamp();
    private DistributedRun? _run;
    private int _step, _totalSteps, _epoch, _workersLost;
    private double _learningRate = double.NaN;
    private long _tokens;

    /// <summary>The run whose configuration, phase and roster the snapshot shows (the run is made with this board as its metrics, then attached).</summary>
    public void Attach(DistributedRun run)
    {
        var config = run.Config;
        var summary = new ConfigItem[]
        {
            new("model", $"{config.NumLayers} layers, {config.NumHeads} heads, {config.EmbeddingSize} wide"),
            new("parameters", run.Replica.Layout.TotalLength.ToString("N0", CultureInfo.InvariantCulture)),
            new("context", $"{config.MaxSequenceLength} tokens"),
            new("batch", $"{config.BatchSize} sequences (global) x {config.GradAccumSteps} accumulation"),
            new("learning rate", $"{config.LearningRate.ToString("G3", CultureInfo.InvariantCulture)} -> {config.MinLearningRate.ToString("G3", CultureInfo.InvariantCulture)}"),
            new("workers", $"{run.Options.Workers} (at least {run.Options.MinWorkers})"),
        };
        lock (_gate)
        {
            (_summary, _run) = (summary, run);
        }
    }

    /// <summary>Where the run starts: its step (a checkpoint's, when resumed) and how many it trains in all.</summary>
    public void Started(int step, int totalSteps)
    {
        lock (_gate)
        {
            (_step, _totalSteps) = (step, totalSteps);
        }
    }

    /// <summary>An evaluation's row (the run's Validated event).</summary>
    public void Evaluated(EvaluationReport report)
    {
        if (double.IsFinite(report.ValLoss))
        {
            lock (_gate)
            {
                _validation.Add(report.Step, (float)report.ValLoss);
            }
        }
    }

    public void StepClosed(StepProgress progress)
    {
        var now = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            (_step, _epoch, _learningRate) = (progress.Step, progress.Epoch, progress.LearningRate);
            _tokens += progress.Tokens;
            _train.Add(progress.Step, progress.Loss);
            _recent.Enqueue((now, _step, _tokens));
            while (_recent.Count > MaxWindowSamples || (_recent.Count > 1 && Stopwatch.GetElapsedTime(_recent.Peek().Timestamp, now) > Window))
            {
                _recent.Dequeue();
            }
        }
    }

    public void RankDelivered(int rank, TimeSpan sinceStepBegan)
    {
        lock (_gate)
        {
            _rankSeconds[rank] = sinceStepBegan.TotalSeconds;
        }
    }

    public void WorkersChanged(int live, bool lost)
    {
        if (lost)
        {
            lock (_gate)
            {
                _workersLost++;
            }
        }
    }

    public void BucketReceived(string transport, int bytes) { }

    public void RankReduced(string transport, TimeSpan sinceFirstBucket) { }

    public void CheckpointWritten(TimeSpan took) { }

    public RunSnapshot Snapshot()
    {
        // The roster takes the run's lock, and the run calls this board under it: never both locks here.
        DistributedRun? run;
        lock (_gate)
        {
            run = _run;
        }
        var roster = run?.Roster() ?? [];
        var phase = run?.Phase;
        var now = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            var (tokensPerSecond, stepsPerSecond) = Rates(now);
            var remaining = Math.Max(0, _totalSteps - _step);
            var workers = roster.Select(w => new WorkerRow(w.Rank, w.Name, w.Host, w.Device, w.Transport,
                w.Rank >= 0 && !w.Health.StartsWith("lost", StringComparison.Ordinal) ? _rankSeconds.GetValueOrDefault(w.Rank, double.NaN) : double.NaN,
                w.SilentSeconds, w.Health)).ToList();
            return new RunSnapshot(run is null ? "run" : $"run {run.RunId}", PhaseName(phase), _summary, _step, _totalSteps, _epoch, _learningRate, _tokens,
                tokensPerSecond, stepsPerSecond > 0 ? remaining / stepsPerSecond : double.NaN,
                Stopwatch.GetElapsedTime(_created, now).TotalSeconds, _train.Copy(), _validation.Copy(), workers, _workersLost);
        }
    }

    /// <summary>Tokens and steps per second over the recent window; NaN when fewer than two steps closed in it.</summary>
    private (double Tokens, double Steps) Rates(long now)
    {
        var recent = _recent.Where(s => Stopwatch.GetElapsedTime(s.Timestamp, now) <= Window).ToList();
        if (recent.Count < 2)
        {
            return (double.NaN, double.NaN);
        }
        var seconds = Stopwatch.GetElapsedTime(recent[0].Timestamp, recent[^1].Timestamp).TotalSeconds;
        return seconds > 0
            ? ((recent[^1].Tokens - recent[0].Tokens) / seconds, (recent[^1].Step - recent[0].Step) / seconds)
            : (double.NaN, double.NaN);
    }

    private static string PhaseName(RunPhase? phase) => phase switch
    {
        RunPhase.WaitingForWorkers => "waiting for workers",
        RunPhase.Training => "training",
        RunPhase.Validating => "validating",
        RunPhase.Done => "done",
        _ => "starting",
    };
}

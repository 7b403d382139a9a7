using Distributed.Coordinator.Distributed;
using Distributed.Models.Training;
using Prometheus;

namespace Distributed.Coordinator.Metrics;

/// <summary>
/// The coordinator's Prometheus metrics (README, "Metrics"): the run's progress, the all-reduce per
/// transport, each rank's time to deliver its gradient, the workers and the checkpoints, in a registry
/// of their own with the process' CPU, memory and GC. Fed by <see cref="DistributedRun"/> through
/// <see cref="IRunMetrics"/> and by its Validated event; served by <see cref="Protocol.MetricsListener"/>.
/// </summary>
public sealed class RunMetrics : IRunMetrics
{
    /// <summary>1 ms to about 9 minutes, doubling: a tiny model's all-reduce and a large one's checkpoint both land inside.</summary>
    private static readonly double[] DurationBuckets = Histogram.ExponentialBuckets(0.001, 2, 20);

    private readonly Gauge _step, _totalSteps, _epoch, _trainLoss, _validationLoss, _learningRate, _workersAlive;
    private readonly Counter _tokens, _allReduceBytes, _workersLost;
    private readonly Histogram _allReduceSeconds, _rankStepSeconds, _checkpointSeconds;

    public RunMetrics()
    {
        DotNetStats.Register(Registry);
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        _step = factory.CreateGauge("gpt_train_step", "Optimizer steps completed: the run's step counter (a resumed run starts at its checkpoint's).");
        _totalSteps = factory.CreateGauge("gpt_train_total_steps", "Steps the run trains in all (max_steps, or num_epochs of the data).");
        _epoch = factory.CreateGauge("gpt_train_epoch", "The epoch the next step belongs to, from 0.");
        _trainLoss = factory.CreateGauge("gpt_train_loss", "Global mean training loss (nats per token) of the last step.");
        _validationLoss = factory.CreateGauge("gpt_train_validation_loss", "Validation loss (nats per token) of the last evaluation; NaN before the first.");
        _learningRate = factory.CreateGauge("gpt_train_learning_rate", "Learning rate of the last step.");
        _tokens = factory.CreateCounter("gpt_train_tokens_total", "Tokens trained on by this coordinator (global batch times sequence length per step); rate() is the throughput.");
        _allReduceBytes = factory.CreateCounter("gpt_allreduce_received_bytes_total", "Gradient bytes received from the workers, by data plane.", "transport");
        _allReduceSeconds = factory.CreateHistogram("gpt_allreduce_duration_seconds",
            "Per worker and step: from its first gradient bucket to the step's whole gradient being reduced, by data plane.",
            ["transport"], new HistogramConfiguration { Buckets = DurationBuckets });
        _rankStepSeconds = factory.CreateHistogram("gpt_rank_step_duration_seconds",
            "Per step: from the step's start on the coordinator to the rank's last gradient bucket (the slowest rank holds the step up).",
            ["rank"], new HistogramConfiguration { Buckets = DurationBuckets });
        _workersAlive = factory.CreateGauge("gpt_workers_alive", "Workers joined and not dropped: members of the current generation and those waiting to be admitted.");
        _workersLost = factory.CreateCounter("gpt_workers_lost_total", "Workers dropped while the run was going (left, failed, went silent, or sent what they must not).");
        _checkpointSeconds = factory.CreateHistogram("gpt_checkpoint_duration_seconds",
            "Time to write one checkpoint (safetensors, state and ONNX export), on the writer's thread.",
            new HistogramConfiguration { Buckets = DurationBuckets });
        _validationLoss.Set(double.NaN);
    }

    public CollectorRegistry Registry { get; } = Prometheus.Metrics.NewCustomRegistry();

    /// <summary>Where the run starts: its step (a checkpoint's, when resumed) and how many it trains in all.</summary>
    public void Started(int step, int totalSteps)
    {
        _step.Set(step);
        _totalSteps.Set(totalSteps);
    }

    /// <summary>An evaluation's row (the run's Validated event).</summary>
    public void Evaluated(EvaluationReport report) => _validationLoss.Set(report.ValLoss);

    public void StepClosed(StepProgress progress)
    {
        _step.Set(progress.Step);
        _epoch.Set(progress.Epoch);
        _trainLoss.Set(progress.Loss);
        _learningRate.Set(progress.LearningRate);
        _tokens.Inc(progress.Tokens);
    }

    public void BucketReceived(string transport, int bytes) => _allReduceBytes.WithLabels(transport).Inc(bytes);

    public void RankDelivered(int rank, TimeSpan sinceStepBegan)
        => _rankStepSeconds.WithLabels(rank.ToString(System.Globalization.CultureInfo.InvariantCulture)).Observe(sinceStepBegan.TotalSeconds);

    public void RankReduced(string transport, TimeSpan sinceFirstBucket) => _allReduceSeconds.WithLabels(transport).Observe(sinceFirstBucket.TotalSeconds);

    public void WorkersChanged(int live, bool lost)
    {
        _workersAlive.Set(live);
        if (lost)
        {
            _workersLost.Inc();
        }
    }

    public void CheckpointWritten(TimeSpan took) => _checkpointSeconds.Observe(took.TotalSeconds);
}

using Prometheus;

namespace Distributed.Worker;

/// <summary>Where one step's time went on this worker.</summary>
/// <param name="AllReduce">Sending the gradient, waiting for the others, receiving the reduced one.</param>
public readonly record struct StepPhases(TimeSpan Compute, TimeSpan AllReduce, TimeSpan Optimizer)
{
    public static StepPhases operator +(StepPhases a, StepPhases b) => new(a.Compute + b.Compute, a.AllReduce + b.AllReduce, a.Optimizer + b.Optimizer);
}

/// <summary>
/// The worker's Prometheus metrics (README, "Metrics"): its step and rank, and per step the seconds of
/// forward/backward, all-reduce and optimizer, with the process' CPU, memory and GC; served by --metrics-port.
/// </summary>
public sealed class WorkerMetrics
{
    private readonly Gauge _step, _rank;
    private readonly Counter _steps;
    private readonly Histogram.Child _compute, _allReduce, _optimizer;

    public WorkerMetrics()
    {
        DotNetStats.Register(Registry);
        var factory = Metrics.WithCustomRegistry(Registry);
        _step = factory.CreateGauge("gpt_worker_step", "Optimizer steps in this worker's replica (the run's step counter as this worker last applied it).");
        _rank = factory.CreateGauge("gpt_worker_rank", "This worker's rank in the current generation; -1 before its first assignment.");
        _steps = factory.CreateCounter("gpt_worker_steps_total", "Steps this worker trained since it started.");
        // 1 ms to about 9 minutes, doubling.
        var phases = factory.CreateHistogram("gpt_worker_step_phase_seconds",
            "Per step: seconds of forward/backward (compute), of the all-reduce (send, wait for the others, receive) and of the optimizer update.",
            ["phase"], new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 20) });
        (_compute, _allReduce, _optimizer) = (phases.WithLabels("compute"), phases.WithLabels("allreduce"), phases.WithLabels("optimizer"));
        _rank.Set(-1);
    }

    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();

    /// <summary>Step <paramref name="step"/> (0-based) is applied: the replica holds <paramref name="step"/> + 1 steps.</summary>
    public void StepApplied(int step, int rank, StepPhases phases)
    {
        _step.Set(step + 1);
        _rank.Set(rank);
        _steps.Inc();
        _compute.Observe(phases.Compute.TotalSeconds);
        _allReduce.Observe(phases.AllReduce.TotalSeconds);
        _optimizer.Observe(phases.Optimizer.TotalSeconds);
    }
}

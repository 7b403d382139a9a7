using System.Net;
using System.Security.Cryptography;
using Distributed.Coordinator.Dashboard;
using Distributed.Coordinator.Metrics;
using Distributed.Models.Training;
using Distributed.Protocol;

namespace Distributed.Coordinator.Distributed;

/// <summary>Where the workers come from: started here (`train --workers N`) or joining over the network (`serve`).</summary>
public sealed record DistributedJobOptions
{
    public required TrainingJobOptions Training { get; init; }

    public required DistributedRunOptions Run { get; init; }

    /// <summary>Start this many worker processes on this machine; 0: wait for remote workers.</summary>
    public int LocalWorkers { get; init; }

    /// <summary>The --device of each local worker (e.g. cuda:0, cuda:1); null: every one on the CPU.</summary>
    public IReadOnlyList<string>? Devices { get; init; }

    public IPAddress Address { get; init; } = IPAddress.Loopback;

    public int Port { get; init; }

    /// <summary>Offer workers on this host the shared-memory data plane (false: gRPC for every worker).</summary>
    public bool SharedMemory { get; init; } = true;

    /// <summary>Offer workers that ask the raw TCP data plane (false: gRPC for the workers the shared memory does not serve).</summary>
    public bool TcpDataPlane { get; init; } = true;

    /// <summary>The TCP data plane's port (0: any free port).</summary>
    public int DataPort { get; init; }

    /// <summary>null: cleartext HTTP/2 (always so for local workers, which connect over loopback).</summary>
    public ServerTls? Tls { get; init; }

    /// <summary>A second, cleartext port serving only grpc.health.v1 Check (see <see cref="CoordinatorEndpoint.HealthPort"/>); null: none.</summary>
    public int? HealthPort { get; init; }

    /// <summary>Serve the dashboard (/) and /metrics on this port of <see cref="MetricsAddress"/> (0: any free one); null: no such listener.</summary>
    public int? MetricsPort { get; init; }

    /// <summary>
    /// Where the dashboard and /metrics listen: the coordinator's <see cref="Address"/> when --metrics-port was
    /// given; otherwise loopback, so a run bound to every interface does not show its workers, addresses and
    /// config to the network unasked.
    /// </summary>
    public IPAddress? MetricsAddress { get; init; }

    /// <summary>Local workers serve their /metrics too, each on any free port.</summary>
    public bool LocalWorkerMetrics { get; init; }

    /// <summary>ONNX Runtime threads of each local worker (train --threads); 0: the cores divided among the local workers.</summary>
    public int ThreadsPerWorker { get; init; }

    /// <summary>The shared run token; null: a random one (local workers get it through their environment).</summary>
    public string? Token { get; init; }
}

/// <summary>
/// A data-parallel run from the command line's point of view: prepare the data and model, host the
/// coordinator, start local workers if asked, report progress until the run completes.
/// </summary>
public static class DistributedJob
{
    /// <summary>Trains a prepared run until its last step or until <paramref name="cancel"/> fires (then checkpoints where it stands).</summary>
    public static RunSummary Run(TrainingJob.PreparedRun prepared, DistributedJobOptions options, ITrainingObserver observer, Action<string> log, CancellationToken cancel)
    {
        // Log lines go above the progress bar (not through the console provider, which would write over it),
        // and in full to <out>/logs/coordinator.log.
        using var terminal = new Commands.TerminalLoggerProvider(Path.Combine(options.Training.OutputDirectory, "logs", "coordinator.log"));
        using var loggers = LoggerFactory.Create(b => b.AddProvider(terminal));
        return RunAsync(prepared, options, observer, log, loggers, _ => { }, cancel).GetAwaiter().GetResult();
    }

    /// <param name="configure">Adjusts the run before it starts (e.g. an early-stopping rule).</param>
    /// <param name="board">The dashboard's board the run feeds (a sweep's trial's); null: a board of its own, shown when <see cref="DistributedJobOptions.MetricsPort"/> is set.</param>
    public static async Task<RunSummary> RunAsync(TrainingJob.PreparedRun prepared, DistributedJobOptions options, ITrainingObserver observer,
        Action<string> log, ILoggerFactory loggers, Action<DistributedRun> configure, CancellationToken cancel, RunBoard? board = null)
    {
        (ModelReplica, TrainingState)? resume = null;
        if (prepared.Checkpoint is not null)
        {
            var replica = new ModelReplica(prepared.Config);
            resume = (replica, RunCheckpoint.Restore(replica, prepared.Checkpoint));
        }
        var metrics = new RunMetrics();
        board ??= new RunBoard();
        using var run = new DistributedRun(prepared.Config, prepared.Tokenizer, prepared.Sampler, options.Run,
            loggers.CreateLogger<DistributedRun>(), resume, new RunMetricsPair(metrics, board));
        board.Attach(run);
        metrics.Started(run.CompletedSteps, run.TotalSteps);
        board.Started(run.CompletedSteps, run.TotalSteps);
        run.Validated += observer.OnEvaluation;
        run.Validated += metrics.Evaluated;
        run.Validated += board.Evaluated;
        configure(run);
        var token = options.Token ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        // Before the run's port opens, so a taken metrics port stops the start before any worker can join.
        await using var metricsListener = options.MetricsPort is { } metricsPort
            ? await MetricsListener.StartAsync(options.MetricsAddress ?? options.Address, metricsPort, metrics.Registry, "--metrics-port", CancellationToken.None,
                DashboardPages.For(() => new DashboardSnapshot(board.Snapshot(), Trials: null)))
            : null;
        // A stop that came while the data was read ends below like any other (checkpoint, summary), not by failing the start.
        await using var host = await CoordinatorHost.StartAsync(run, token,
            new CoordinatorEndpoint(options.Address, options.Port)
            {
                Tls = options.Tls, HealthPort = options.HealthPort, Workers = options.Run.Workers, Loggers = loggers,
                SharedMemory = options.SharedMemory, TcpDataPlane = options.TcpDataPlane, DataPort = options.DataPort,
            }, CancellationToken.None);
        var shown = options.Address.Equals(IPAddress.Any) ? IPAddress.Loopback : options.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : options.Address;
        var address = new Uri($"{(options.Tls is null ? "http" : "https")}://{new IPEndPoint(shown, CoordinatorHost.BoundPort(host, options.HealthPort))}");
        var health = options.HealthPort is { } healthPort ? $", health checks on http://{new IPEndPoint(shown, healthPort)}" : "";
        log($"Coordinator listening on {address}{health} (run {run.RunId}); waiting for {options.Run.Workers} workers.");
        if (metricsListener is not null)
        {
            log($"Dashboard: {metricsListener.Root}");
            log($"Metrics: {metricsListener.Url}");
        }

        var threadsEach = WorkerThreads.Each(options.LocalWorkers, options.ThreadsPerWorker, Environment.ProcessorCount);
        if (options.LocalWorkers > 0 && WorkerThreads.Oversubscription(options.LocalWorkers, threadsEach, Environment.ProcessorCount) is { } crowded)
        {
            log($"Warning: {crowded}");
        }
        using var workers = options.LocalWorkers > 0 && !cancel.IsCancellationRequested
            ? new LocalWorkers(options.LocalWorkers, address, token, threadsEach, Path.Combine(options.Training.OutputDirectory, "logs"), options.Run.Timeout, options.Devices,
                metrics: options.LocalWorkerMetrics)
            : null;
        await ReportProgress(run, observer, workers, options.Training.OutputDirectory, cancel);
        var summary = run.Completion.IsCompleted ? await run.Completion : run.Interrupt();
        // Keep serving until the workers have collected their stop and left (bounded), so none of
        // them mistakes the end of the run for a lost coordinator.
        var giveUp = DateTime.UtcNow + options.Run.Timeout;
        while (!run.AllWorkersGone && DateTime.UtcNow < giveUp)
        {
            await Task.Delay(100, CancellationToken.None);
        }
        if (workers is not null)
        {
            await workers.StopAsync(options.Run.Timeout);
        }
        await host.StopAsync(CancellationToken.None);
        TrainingJob.WriteSummary(options.Training.OutputDirectory, summary);
        return summary;
    }

    /// <summary>Feeds the progress display from the run's step counter until the run completes.</summary>
    private static async Task ReportProgress(DistributedRun run, ITrainingObserver observer, LocalWorkers? workers, string outputDirectory, CancellationToken cancel)
    {
        var lastStep = run.CompletedSteps;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var tokensPerStep = (double)run.Config.BatchSize * run.Config.MaxSequenceLength;
        while (!run.Completion.IsCompleted && !cancel.IsCancellationRequested)
        {
            await Task.WhenAny(run.Completion, Task.Delay(250, cancel)).ConfigureAwait(false);
            // Workers that leave because of the same Ctrl+C or SIGTERM (a terminal or systemd signals them all) are no failure,
            // nor are workers that left a run that is over (its summary is published once its last files are written).
            var phase = run.Phase;
            if (workers is not null && phase != RunPhase.Done && !cancel.IsCancellationRequested
                && (workers.Processes.All(p => p.HasExited) || (phase == RunPhase.WaitingForWorkers && workers.Processes.Any(p => p.HasExited))))
            {
                throw new InvalidOperationException(
                    $"Worker processes exited before the run finished; their logs are in {Path.Combine(outputDirectory, "logs")}.");
            }
            var step = run.CompletedSteps;
            if (step != lastStep)
            {
                var rate = (step - lastStep) * tokensPerStep / clock.Elapsed.TotalSeconds;
                observer.OnStep(new StepReport(step, run.TotalSteps, 0, run.LastStepLoss, 0, rate));
                lastStep = step;
                clock.Restart();
            }
        }
    }
}

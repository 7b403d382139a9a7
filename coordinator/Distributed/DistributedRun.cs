using System.Diagnostics;
using System.Security.Cryptography;
using System.Threading.Channels;
using Distributed.Models;
using Distributed.Models.Config;
using Distributed.Models.Data;
using Distributed.Models.DataParallel;
using Distributed.Models.Runtime;
using Distributed.Models.Tokenizers;
using Distributed.Models.Training;

namespace Distributed.Coordinator.Distributed;

/// <summary>
/// The coordinator's state machine for one data-parallel run, in the run's own terms (it speaks no
/// gRPC): wait for enough workers that ask for work, then for each generation hand every member its
/// shard, all-reduce every step (<see cref="StepReduction"/>; the members apply it, each to its replica),
/// score the validation split at the <see cref="StepSchedule"/>'s points (<see cref="ValidationRound"/>)
/// and checkpoint a member's state (DistributedRun.State.cs). Who takes part is <see cref="Membership"/>'s;
/// patience is <see cref="LivenessWatch"/>'s.
///
/// Threads: request threads only update state under the run's lock and return, or refuse with a
/// <see cref="RunRefusedException"/>. The heavy work (closing a step, the end of a
/// validation, scoring a lost worker's windows, observers) runs on the run's own loop, and files are
/// written by the <see cref="CheckpointWriter"/> from snapshots.
/// </summary>
public sealed partial class DistributedRun : IDisposable
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromMilliseconds(100);

    private readonly Lock _gate = new();
    private readonly ILogger _log;
    private readonly DistributedRunOptions _options;
    private readonly ITokenizer _tokenizer;
    private readonly string _tokenizerJson, _configJson;
    private readonly EpochSampler _sampler;
    private readonly LearningRateSchedule _learningRate;
    private readonly Membership _membership;
    private readonly StepReduction _reduction;
    private readonly LivenessWatch _watch;
    private readonly CheckpointWriter _writer;
    private readonly IRunMetrics? _metrics;
    private readonly Channel<Action> _loop = Channel.CreateUnbounded<Action>(new() { SingleReader = true });
    private readonly Task _loopTask, _watchTask;
    private readonly SemaphoreSlim _stateDownloads = new(MaxStateDownloads);
    private readonly TaskCompletionSource<RunSummary> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly int _firstStep;
    private bool _initialState;   // the run's state is still the seed's initialisation: workers build it instead of downloading it

    private RunPhase _phase = RunPhase.WaitingForWorkers;
    private SchedulePosition _position;
    private DataParallelLayout _layout;
    private int[] _order = [];
    private int _orderEpoch = -1, _offset;
    private ValidationRound? _validation;
    private GptEvaluationSession? _localEvaluation;

    // Progress: the loss and training time since the last evaluation, and the run's totals.
    private readonly Stopwatch _trainClock = new();
    private double _intervalLoss, _intervalStartSeconds, _priorSeconds;
    private int _intervalSteps;
    private long _tokens;
    private TimeSpan? _cpuAfterFirstStep;   // the process's CPU time when the first step of this process closed
    private TimeSpan _cpuAfterLastStep;
    private int _stepsAfterFirst;
    private double _lastValLoss = double.NaN, _lastTrainLoss = double.NaN;

    /// <summary>At most this many state downloads (a copy of the state each) at once.</summary>
    public const int MaxStateDownloads = 2;

    public DistributedRun(GptConfig config, ITokenizer tokenizer, EpochSampler sampler, DistributedRunOptions options,
        ILogger log, (ModelReplica Replica, TrainingState State)? resume = null, IRunMetrics? metrics = null)
    {
        if (options.Workers < 1 || options.MinWorkers < 1 || options.MinWorkers > options.Workers)
        {
            throw new ArgumentException($"--workers {options.Workers} and --min-workers {options.MinWorkers} must satisfy 1 <= min-workers <= workers.");
        }
        _ = new DataParallelLayout(options.Workers, config.BatchSize, config.GradAccumSteps);   // refuses a micro-batch smaller than the worker count
        (Config, _tokenizer, _tokenizerJson, _configJson, _sampler, _options, _log) =
            (config, tokenizer, tokenizer.ToJson(), ConfigLoader.ToJson(config), sampler, options, log);
        Replica = resume?.Replica ?? new ModelReplica(config);
        Schedule = new StepSchedule(config, sampler.StepsPerEpoch(config.BatchSize));
        _learningRate = new LearningRateSchedule(config.LearningRate, config.MinLearningRate, config.WarmupSteps, Schedule.TotalSteps);
        Fingerprint = ModelFingerprint.Of(config);
        RunId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var readyWindow = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(2).Ticks, 3 * options.HeartbeatInterval.Ticks));
        _membership = new Membership(Math.Max(2 * options.Workers, options.Workers + 8), readyWindow);
        _reduction = new StepReduction(Replica.Gradients.Data, config.AllReduceDtype);
        _watch = new LivenessWatch(options.Timeout, options.StepTimeout);
        _writer = new CheckpointWriter(log);
        _metrics = metrics;
        if (resume is { State: var state })
        {
            _position = new SchedulePosition(state.Step, state.Epoch, state.BatchInEpoch);
            (_tokens, _priorSeconds) = (state.Tokens, state.Seconds);
        }
        _firstStep = _position.Step;
        _copyState = StateNow();
        _initialState = resume is null;
        _loopTask = Task.Factory.StartNew(RunLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        _watchTask = Task.Run(WatchAsync);
        if (Schedule.IsDone(_position))
        {
            _log.LogInformation("The checkpoint is already at step {Step} of {Total}: nothing to train (raise max_steps or num_epochs to go on)",
                _position.Step, Schedule.TotalSteps);
            lock (_gate)
            {
                EndRun(interrupted: false, checkpoint: false);
            }
        }
    }

    public GptConfig Config { get; }

    public DistributedRunOptions Options => _options;

    /// <summary>The coordinator's copy of the run's state: the seed's or checkpoint's, then a member's (see <see cref="StateCopyStep"/>).</summary>
    public ModelReplica Replica { get; }

    public StepSchedule Schedule { get; }

    public string Fingerprint { get; }

    public string RunId { get; }

    public int StepsPerEpoch => Schedule.StepsPerEpoch;

    public int TotalSteps => Schedule.TotalSteps;

    /// <summary>Completes when the run is over (finished, stopped early, or interrupted) and its files are written.</summary>
    public Task<RunSummary> Completion => _completion.Task;

    /// <summary>Raised on the run's loop (not under its lock) after each validation: a row of the run's table.</summary>
    public event Action<EvaluationReport>? Validated;

    /// <summary>Asked on the run's loop after each validation: a reason to stop early (patience, successive halving), or null to go on.</summary>
    public Func<EvaluationReport, string?>? StopRule { get; set; }

    public RunPhase Phase { get { lock (_gate) { return _phase; } } }

    public int CompletedSteps { get { lock (_gate) { return _position.Step; } } }

    /// <summary>The global mean loss of the last completed step.</summary>
    public float LastStepLoss { get; private set; }

    /// <summary>True when every worker that joined has left or been dropped (so the server may stop).</summary>
    public bool AllWorkersGone { get { lock (_gate) { return _membership.AllGone; } } }

    /// <param name="host">The address the worker called from (shown on the dashboard); null when unknown.</param>
    public JoinGrant Join(string name, string device, int threads, string? host = null)
    {
        lock (_gate)
        {
            if (_phase == RunPhase.Done)
            {
                throw new Refusal(RefusalKind.RunOver, "The run is over.").ToException();
            }
            var (slot, refusal) = _membership.Join(name, device, Environment.TickCount64, host);
            if (refusal is not null)
            {
                _log.LogWarning("Refused a join from '{Name}': {Reason}", Membership.Shorten(name), refusal.Message);
                throw refusal.ToException();
            }
            _log.LogInformation("Worker {Worker} joined ({Device}, {Threads} threads)", slot, slot!.Device, threads);
            _metrics?.WorkersChanged(_membership.Live.Count(), lost: false);
            return new JoinGrant(slot, RunId, _configJson, _tokenizerJson, Fingerprint, _options.HeartbeatInterval, _options.Timeout, _options.Workers);
        }
    }

    /// <summary>The worker a call comes from, proven by its secret; refused otherwise. Counts as a sign of life.</summary>
    public WorkerSlot Authenticate(string workerId, string? secret)
    {
        var (slot, refusal) = _membership.Authenticate(workerId, secret);
        if (refusal is not null)
        {
            if (refusal.Kind == RefusalKind.Unauthenticated)
            {
                _log.LogWarning("Refused a call in the name of {Worker}: {Reason}", Membership.Shorten(workerId), refusal.Message);
            }
            throw refusal.ToException();
        }
        slot!.LastSeen = Environment.TickCount64;
        return slot;
    }

    /// <summary>A heartbeat: false when the worker is not (or no longer) part of the run, so it must stop.</summary>
    public bool Heartbeat(string workerId, string? secret)
    {
        if (_membership.Find(workerId) is not { Dropped: false })
        {
            return false;
        }
        Authenticate(workerId, secret);
        return true;
    }

    public void Leave(WorkerSlot caller, string reason)
    {
        lock (_gate)
        {
            if (_phase == RunPhase.Done)
            {
                _membership.Drop(caller, "left after the run");
                _metrics?.WorkersChanged(_membership.Live.Count(), lost: false);
                HolderGone(caller);
                return;
            }
            Drop(caller, $"left: {reason}");
        }
    }

    /// <summary>Stops the run between two steps (Ctrl+C, SIGTERM): checkpoints the run where it stands (a member's state); workers are told to stop.</summary>
    public RunSummary Interrupt()
    {
        lock (_gate)
        {
            if (_phase != RunPhase.Done)
            {
                _log.LogWarning("Interrupted at step {Step}; writing a checkpoint. Continue with --resume {Directory}", _position.Step, _options.OutputDirectory);
                EndRun(interrupted: true, checkpoint: true);
            }
        }
        return _completion.Task.GetAwaiter().GetResult();
    }

    /// <summary>Under the lock: the run is over; its summary is published once its checkpoint and the files queued before it are written.</summary>
    private void EndRun(bool interrupted, bool checkpoint, string? stoppedEarly = null)
    {
        _phase = RunPhase.Done;
        _trainClock.Stop();
        CloseLinks();
        var steps = _position.Step - _firstStep;
        _log.LogInformation("Coordinator CPU time: {Cpu:F1} ms per step over {Steps} steps (the whole process: reduction, gRPC, state copies, evaluation, files); peak RSS {Rss} MB",
            Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds / Math.Max(1, steps), steps, Process.GetCurrentProcess().PeakWorkingSet64 >> 20);
        if (_stepsAfterFirst > 0 && _cpuAfterFirstStep is { } first)
        {
            _log.LogInformation("Coordinator CPU time per training step, after the first: {Cpu:F1} ms over {Steps} steps (reduction, transport; evaluations and state copies between them included)",
                (_cpuAfterLastStep - first).TotalMilliseconds / _stepsAfterFirst, _stepsAfterFirst);
        }
        var seconds = _priorSeconds + _trainClock.Elapsed.TotalSeconds;
        var summary = new RunSummary(_lastValLoss, _lastTrainLoss, _tokens / Math.Max(seconds, 1e-9), seconds, _position.Step,
            Replica.Layout.TotalLength, interrupted) { StoppedEarly = stoppedEarly };
        if (checkpoint)
        {
            RequestCheckpoint(report: null);
        }
        _endSummary = summary;
        AwaitFinalState();
        PublishIfEnded();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _loop.Writer.TryComplete();
        _loopTask.Wait(TimeSpan.FromMinutes(1));
        _watchTask.Wait(TimeSpan.FromSeconds(5));
        _writer.Dispose();
        _localEvaluation?.Dispose();
        _stop.Dispose();
        _stateDownloads.Dispose();
    }
}

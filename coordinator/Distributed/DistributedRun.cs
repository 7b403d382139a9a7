using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Distributed.Models.Config;
using Distributed.Models.Data;
using Distributed.Models.DataParallel;
using Distributed.Models.Runtime;
using Distributed.Models.Tokenizers;
using Distributed.Models.Training;
using Distributed.Models;
using Distributed.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Distributed.Coordinator.Distributed;

/// <summary>
/// The coordinator's state machine for one data-parallel run: wait for N workers, then for each
/// epoch hand every worker its shard, all-reduce each step's gradients (summed in rank order,
/// weighted by each rank's share of the global batch) and apply them to the coordinator's own
/// replica, collect per-epoch validation, checkpoint. A worker that fails or goes silent is dropped:
/// the current step is abandoned and redone by the survivors on a new shard split; a worker that
/// joins mid-run is admitted at the next epoch. All state is guarded by one lock; RPC handlers call in.
/// </summary>
public sealed class DistributedRun : IDisposable
{
    private readonly Lock _gate = new();
    private readonly ILogger _log;
    private readonly DistributedRunOptions _options;
    private readonly ITokenizer _tokenizer;
    private readonly string _tokenizerJson;
    private readonly EpochSampler _sampler;
    private readonly LearningRateSchedule _schedule;
    // Concurrent so that heartbeats never wait for the main lock (a checkpoint of a large model holds it for a while).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, WorkerSlot> _workers = new();
    private readonly List<WorkerSlot> _members = [];
    private readonly TaskCompletionSource<RunSummary> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly int _bucketCount;

    private RunPhase _phase = RunPhase.WaitingForWorkers;
    private long _generation;
    private int _step, _epoch, _stepInEpoch, _firstStep;
    private int[] _order = [];
    private int _offset;

    // The step being reduced: each rank's gradient and loss, and how many ranks each bucket has.
    private float[][] _rankGradients = [];
    private bool[][] _arrived = [];
    private int[] _bucketArrivals = [];
    private float[] _rankLoss = [];
    private int _bucketsReduced;
    private long _stepStarted = Environment.TickCount64;   // when the current step (or validation) began

    // Each bucket's reduced values go out from a buffer reused every step: bucket k of step s+1 cannot
    // be reduced before every worker has received step s's closing message, which its stream sends
    // after bucket k of step s. Reusing them keeps 1 MiB allocations (and full GCs) off the hot path.
    private readonly byte[][] _replyBuffers;

    // The epoch's validation: every member's share of the windows (rank r of W takes v % W == r).
    private readonly Dictionary<string, (int Rank, int WorldSize)> _validationPending = [];
    private double _validationLossSum;
    private long _validationTokens;
    private int _localValidations;
    private GptEvaluationSession? _localEvaluation;
    private readonly Lock _localEvaluationGate = new();   // one local scoring at a time, off the main lock
    private Task _localValidation = Task.CompletedTask;

    // Progress for metrics: loss and time of the epoch's steps, the run's tokens and training seconds.
    private double _epochLossSum;
    private int _epochSteps;
    private readonly Stopwatch _epochClock = new();
    private long _tokens;
    private double _seconds;
    private double _lastValLoss = double.NaN, _lastTrainLoss = double.NaN;

    public DistributedRun(GptConfig config, ITokenizer tokenizer, EpochSampler sampler, DistributedRunOptions options,
        ILogger log, (ModelReplica Replica, TrainingState State)? resume = null)
    {
        if (options.Workers < 1 || options.MinWorkers < 1 || options.MinWorkers > options.Workers)
        {
            throw new ArgumentException($"--workers {options.Workers} and --min-workers {options.MinWorkers} must satisfy 1 <= min-workers <= workers.");
        }
        BatchSplit.BatchOf(0, options.Workers, config.BatchSize);   // every worker needs a sequence per step
        Config = config;
        _tokenizer = tokenizer;
        _tokenizerJson = tokenizer.ToJson();
        _sampler = sampler;
        _options = options;
        _log = log;
        Replica = resume?.Replica ?? new ModelReplica(config);
        StepsPerEpoch = sampler.StepsPerEpoch(config.BatchSize);
        TotalSteps = StepBudget.Total(config, StepsPerEpoch);
        _schedule = new LearningRateSchedule(config.LearningRate, config.MinLearningRate, config.WarmupSteps, TotalSteps);
        Fingerprint = ModelFingerprint.Of(config);
        RunId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        _bucketCount = Protocol.DistributedBuckets.Count(Replica.Layout.TotalLength);
        _replyBuffers = Enumerable.Range(0, _bucketCount)
            .Select(b => new byte[Protocol.DistributedBuckets.Range(b, Replica.Layout.TotalLength).Length * sizeof(float)])
            .ToArray();
        if (resume is { State: var state })
        {
            (_step, _epoch, _stepInEpoch, _tokens, _seconds) = (state.Step, state.Epoch, state.BatchInEpoch, state.Tokens, state.Seconds);
        }
        (_order, _offset) = (sampler.EpochOrder(_epoch), sampler.EpochOffset(_epoch));
        _firstStep = _step;
        if (_step >= TotalSteps)
        {
            _log.LogInformation("The checkpoint is already at step {Step} of {Total}: nothing to train (raise max_steps or num_epochs to go on)", _step, TotalSteps);
            Finish(interrupted: false);
        }
        _ = Task.Run(WatchHeartbeats);
    }

    public GptConfig Config { get; }

    public ModelReplica Replica { get; }

    public string Fingerprint { get; }

    public string RunId { get; }

    public int StepsPerEpoch { get; }

    public int TotalSteps { get; }

    /// <summary>Completes when the run is over: finished, or failed with too few workers.</summary>
    public Task<RunSummary> Completion => _completion.Task;

    /// <summary>Raised (outside the lock) after each validation: a row of the run's table.</summary>
    public event Action<EvaluationReport>? EpochValidated;

    /// <summary>
    /// Asked after each validation (under the run's lock, so keep it quick): a reason to stop the
    /// run early (patience, successive halving), or null to go on.
    /// </summary>
    public Func<EvaluationReport, string?>? StopRule { get; set; }

    public RunPhase Phase { get { lock (_gate) { return _phase; } } }

    // ------------------------------------------------------------------ membership

    public JoinReply Join(JoinRequest request)
    {
        if (request.ProtocolVersion != ProtocolVersion._1)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"Protocol version {request.ProtocolVersion} is not supported; this coordinator speaks {ProtocolVersion._1}. Run the same release on every machine."));
        }
        lock (_gate)
        {
            if (_phase == RunPhase.Done)
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition, "The run is over."));
            }
            var slot = new WorkerSlot(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)), request.WorkerName);
            _workers[slot.Id] = slot;
            _log.LogInformation("Worker {Worker} joined ({Device}, {Threads} threads)", slot, request.Device, request.Threads);
            var waiting = _workers.Values.Count(w => !w.Dropped);
            if (_phase == RunPhase.WaitingForWorkers && waiting >= _options.Workers)
            {
                _phase = RunPhase.Training;
                Admit();
                _epochClock.Restart();
                _log.LogInformation("All {Count} workers joined; training {Steps} steps ({PerEpoch} per epoch)", waiting, TotalSteps, StepsPerEpoch);
            }
            return new JoinReply
            {
                WorkerId = slot.Id,
                RunId = RunId,
                ConfigJson = ConfigLoader.ToJson(Config),
                TokenizerJson = _tokenizerJson,
                ModelFingerprint = Fingerprint,
                HeartbeatIntervalMs = (int)_options.HeartbeatInterval.TotalMilliseconds,
                TimeoutMs = (int)_options.Timeout.TotalMilliseconds,
            };
        }
    }

    public bool Heartbeat(string workerId)
    {
        if (!_workers.TryGetValue(workerId, out var slot) || slot.Dropped)
        {
            return false;
        }
        slot.LastSeen = Environment.TickCount64;
        return true;
    }

    /// <summary>True when every worker that joined has left or been dropped (so the server may stop).</summary>
    public bool AllWorkersGone { get { lock (_gate) { return _workers.Values.All(w => w.Dropped); } } }

    /// <summary>Stops the run between two steps (Ctrl+C): checkpoints the replica where it stands; workers are told to stop.</summary>
    public RunSummary Interrupt()
    {
        lock (_gate)
        {
            if (_phase != RunPhase.Done)
            {
                SaveCheckpoint();
                _log.LogWarning("Interrupted at step {Step}; checkpoint written. Continue with --resume {Directory}", _step, _options.OutputDirectory);
                Finish(interrupted: true);
            }
        }
        return _completion.Task.Result;
    }

    public void Leave(string workerId, string reason)
    {
        lock (_gate)
        {
            if (_workers.TryGetValue(workerId, out var slot) && !slot.Dropped && slot.Rank >= 0 && _phase != RunPhase.Done)
            {
                Drop(slot, $"left: {reason}");
            }
            else if (slot is not null)
            {
                slot.Dropped = true;
            }
        }
    }

    /// <summary>Drops a worker that failed, went silent or sent something it must not.</summary>
    public void Drop(string workerId, string reason)
    {
        lock (_gate)
        {
            if (_workers.TryGetValue(workerId, out var slot))
            {
                Drop(slot, reason);
            }
        }
    }

    public WorkerSlot Slot(string workerId)
    {
        lock (_gate)
        {
            if (!_workers.TryGetValue(workerId, out var slot))
            {
                throw new RpcException(new Status(StatusCode.NotFound, $"Unknown worker '{workerId}': join first."));
            }
            slot.LastSeen = Environment.TickCount64;
            return slot;
        }
    }

    // ------------------------------------------------------------------ assignments, state, shards

    public Assignment NextAssignment(string workerId)
    {
        lock (_gate)
        {
            var slot = Slot(workerId);
            if (slot.Dropped)
            {
                return new Assignment { Kind = Assignment.Types.Kind.Stop, Reason = $"dropped: {slot.DropReason}" };
            }
            if (_phase == RunPhase.Done)
            {
                return new Assignment { Kind = Assignment.Types.Kind.Stop, Reason = "the run is over" };
            }
            if (slot.Rank < 0 || _phase != RunPhase.Training)
            {
                return new Assignment { Kind = Assignment.Types.Kind.Wait, RetryAfterMs = 100 };
            }
            return new Assignment
            {
                Kind = Assignment.Types.Kind.Train,
                Generation = _generation,
                Rank = slot.Rank,
                WorldSize = _members.Count,
                Epoch = _epoch,
                FirstStep = _step,
                Steps = StepsUntilValidation,
                BatchSize = BatchSplit.BatchOf(slot.Rank, _members.Count, Config.BatchSize),
                GlobalBatchSize = Config.BatchSize,
                ValidateAtEnd = true,
            };
        }
    }

    /// <summary>Steps until the next validation: every eval_interval steps, at each epoch's end and at the last step.</summary>
    private int StepsUntilValidation
        => Math.Min(Math.Min(StepsPerEpoch - _stepInEpoch, TotalSteps - _step), Config.EvalInterval - _step % Config.EvalInterval);

    /// <summary>A copy of the replica's parameters and optimizer moments, and the steps they reflect.</summary>
    public (long Step, IReadOnlyList<(string Name, float[] Data)> Tensors) SnapshotState()
    {
        lock (_gate)
        {
            return (_step, Replica.StateBuffers.Select(b => (b.Name, (float[])b.Buffer.Data.Clone())).ToList());
        }
    }

    /// <summary>The worker's training windows for the rest of the epoch (in step order) and its validation windows.</summary>
    public (int[] Train, int[] Validation) Shard(string workerId, long generation)
    {
        lock (_gate)
        {
            var slot = Slot(workerId);
            if (generation != _generation || slot.Rank < 0 || _phase != RunPhase.Training)
            {
                throw new RpcException(new Status(StatusCode.Aborted, $"Generation {generation} is over (now {_generation}); ask for a new assignment."));
            }
            var (rank, world) = (slot.Rank, _members.Count);
            var batch = BatchSplit.BatchOf(rank, world, Config.BatchSize);
            var windowLength = Config.MaxSequenceLength + 1;
            var steps = StepsUntilValidation;
            var train = new int[steps * batch * windowLength];
            var windows = new int[batch];
            for (var i = 0; i < steps; i++)
            {
                BatchSplit.WindowsOf(_order, _stepInEpoch + i, rank, world, Config.BatchSize, windows);
                for (var j = 0; j < batch; j++)
                {
                    _sampler.CopyWindow(DataSplit.Train, windows[j], _offset, train.AsSpan((i * batch + j) * windowLength, windowLength));
                }
            }
            var validationWindows = ValidationWindowsOf(rank, world);
            var validation = new int[validationWindows.Length * windowLength];
            for (var j = 0; j < validationWindows.Length; j++)
            {
                _sampler.CopyWindow(DataSplit.Validation, validationWindows[j], 0, validation.AsSpan(j * windowLength, windowLength));
            }
            return (train, validation);
        }
    }

    private int[] ValidationWindowsOf(int rank, int world)
        => Enumerable.Range(0, _sampler.ValidationWindows).Where(v => v % world == rank).ToArray();

    // ------------------------------------------------------------------ all-reduce

    /// <summary>Opens a worker's all-reduce stream for the current generation.</summary>
    public (System.Threading.Channels.ChannelReader<ReduceReply> Replies, CancellationToken Abort) OpenStream(string workerId, long generation, string fingerprint)
    {
        lock (_gate)
        {
            var slot = Slot(workerId);
            if (fingerprint != Fingerprint)
            {
                _log.LogWarning("Refused {Worker}: model fingerprint {Theirs} differs from the run's {Ours}", slot, fingerprint, Fingerprint);
                throw new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"Model fingerprint {fingerprint} does not match the run's {Fingerprint}: the worker built a different model. Run the same release everywhere."));
            }
            if (slot.Dropped || slot.Rank < 0 || generation != _generation || _phase != RunPhase.Training)
            {
                throw new RpcException(new Status(StatusCode.Aborted, $"Generation {generation} is over (now {_generation}); ask for a new assignment."));
            }
            slot.Replies = System.Threading.Channels.Channel.CreateUnbounded<ReduceReply>(new() { SingleReader = true });
            slot.StreamAbort = new CancellationTokenSource();
            return (slot.Replies.Reader, slot.StreamAbort.Token);
        }
    }

    /// <summary>Ends a worker's stream normally (it sent everything and received its last step).</summary>
    public void CloseStream(string workerId)
    {
        lock (_gate)
        {
            if (_workers.TryGetValue(workerId, out var slot))
            {
                slot.Replies?.Writer.TryComplete();
            }
        }
    }

    /// <summary>
    /// Takes one gradient bucket. Throws an RpcException (InvalidArgument) for a bucket of the wrong
    /// step, index or length, or with NaN/Inf; the caller then drops the worker.
    /// </summary>
    public void AcceptBucket(string workerId, GradientBucket bucket)
    {
        EvaluationReport? finishedEpoch = null;
        lock (_gate)
        {
            var slot = Slot(workerId);
            if (slot.Dropped || bucket.Generation != _generation || _phase != RunPhase.Training || slot.Rank < 0)
            {
                throw new RpcException(new Status(StatusCode.Aborted, $"Generation {bucket.Generation} is over (now {_generation}); ask for a new assignment."));
            }
            if (bucket.Step != _step)
            {
                throw Invalid(slot, $"a gradient for step {bucket.Step}, but the run is at step {_step}");
            }
            if (bucket.Bucket < 0 || bucket.Bucket >= _bucketCount)
            {
                throw Invalid(slot, $"bucket index {bucket.Bucket}, outside [0, {_bucketCount})");
            }
            var (start, length) = Protocol.DistributedBuckets.Range(bucket.Bucket, Replica.Layout.TotalLength);
            if (bucket.Data.Length != length * sizeof(float))
            {
                throw Invalid(slot, $"bucket {bucket.Bucket} of {bucket.Data.Length} bytes; it must be {length * sizeof(float)} ({length} float32 values)");
            }
            var rank = slot.Rank;
            if (bucket.Bucket == 0 && !float.IsFinite(bucket.Loss))
            {
                // Not the worker's fault: the hyperparameters make training blow up. Stop the run, keep the last good checkpoint.
                var reason = $"diverged: the loss of {slot} was {bucket.Loss} at step {_step} (learning_rate {Config.LearningRate:G3})";
                _log.LogWarning("Stopping: {Reason}", reason);
                Finish(interrupted: false, stoppedEarly: reason);
                throw new RpcException(new Status(StatusCode.Aborted, $"The run stopped: {reason}."));
            }
            if (_arrived[rank][bucket.Bucket])
            {
                throw Invalid(slot, $"bucket {bucket.Bucket} of step {_step} twice");
            }
            var values = MemoryMarshal.Cast<byte, float>(bucket.Data.Span);
            if (!GradientAverage.AllFinite(values))
            {
                throw Invalid(slot, $"NaN or infinity in gradient bucket {bucket.Bucket} of step {_step}");
            }
            values.CopyTo(_rankGradients[rank].AsSpan(start, length));
            _arrived[rank][bucket.Bucket] = true;
            if (bucket.Bucket == 0)
            {
                _rankLoss[rank] = bucket.Loss;
            }
            if (++_bucketArrivals[bucket.Bucket] == _members.Count)
            {
                ReduceBucket(bucket.Bucket, start, length);
                if (++_bucketsReduced == _bucketCount)
                {
                    finishedEpoch = FinishStep();
                }
            }
        }
        if (finishedEpoch is not null)
        {
            EpochValidated?.Invoke(finishedEpoch);
        }
    }

    private RpcException Invalid(WorkerSlot slot, string what)
    {
        var message = $"{slot} sent {what}.";
        _log.LogWarning("Refused a gradient: {Message}", message);
        return new RpcException(new Status(StatusCode.InvalidArgument, message));
    }

    private void ReduceBucket(int bucket, int start, int length)
    {
        var slices = _rankGradients.Select(g => (ReadOnlyMemory<float>)g.AsMemory(start, length)).ToList();
        var weights = _members.Select(m => BatchSplit.WeightOf(m.Rank, _members.Count, Config.BatchSize)).ToList();
        var destination = Replica.Gradients.Data.AsSpan(start, length);
        GradientAverage.WeightedSum(slices, weights, destination);
        MemoryMarshal.AsBytes(destination).CopyTo(_replyBuffers[bucket]);
        var reply = new ReduceReply { Bucket = new ReducedBucket { Step = _step, Bucket = bucket, Data = UnsafeByteOperations.UnsafeWrap(_replyBuffers[bucket]) } };
        Broadcast(reply);
    }

    private EvaluationReport? FinishStep()
    {
        var clipScale = Optimizer.ClipScale(Replica.Gradients, Config.GradClip);
        var learningRate = _schedule.At(_step);
        Replica.Apply(clipScale, learningRate);
        var loss = 0f;
        for (var rank = 0; rank < _members.Count; rank++)
        {
            loss += BatchSplit.WeightOf(rank, _members.Count, Config.BatchSize) * _rankLoss[rank];
        }
        Broadcast(new ReduceReply { StepDone = new StepDone { Step = _step, LearningRate = learningRate, ClipScale = clipScale, Loss = loss } });
        (_epochLossSum, _epochSteps) = (_epochLossSum + loss, _epochSteps + 1);
        _tokens += (long)Config.BatchSize * Config.MaxSequenceLength;
        _step++;
        _stepInEpoch++;
        ResetReduction();
        LastStepLoss = loss;
        if (_stepInEpoch == StepsPerEpoch || _step == TotalSteps || _step % Config.EvalInterval == 0)
        {
            _seconds += _epochClock.Elapsed.TotalSeconds;
            StartValidation();
            return TryFinishValidation();
        }
        return null;
    }

    /// <summary>The global mean loss of the last completed step.</summary>
    public float LastStepLoss { get; private set; }

    public int CompletedSteps { get { lock (_gate) { return _step; } } }

    private void Broadcast(ReduceReply reply)
    {
        foreach (var member in _members)
        {
            member.Replies?.Writer.TryWrite(reply);
        }
    }

    private void ResetReduction()
    {
        var world = _members.Count;
        if (_rankGradients.Length != world)
        {
            _rankGradients = Enumerable.Range(0, world).Select(_ => new float[Replica.Layout.TotalLength]).ToArray();
        }
        _arrived = Enumerable.Range(0, world).Select(_ => new bool[_bucketCount]).ToArray();
        _bucketArrivals = new int[_bucketCount];
        _rankLoss = new float[world];
        _bucketsReduced = 0;
        _stepStarted = Environment.TickCount64;
    }

    // ------------------------------------------------------------------ validation

    private void StartValidation()
    {
        _phase = RunPhase.Validating;
        _stepStarted = Environment.TickCount64;
        _validationPending.Clear();
        foreach (var member in _members)
        {
            _validationPending[member.Id] = (member.Rank, _members.Count);
        }
        (_validationLossSum, _validationTokens) = (0, 0);
    }

    public void ReportValidation(string workerId, ValidationReport report)
    {
        EvaluationReport? finished;
        lock (_gate)
        {
            var slot = Slot(workerId);
            if (_phase == RunPhase.Done)
            {
                return;   // the run ended meanwhile (early stop, too few workers): nothing to add, nothing wrong
            }
            if (_phase != RunPhase.Validating || report.Epoch != _epoch || !_validationPending.Remove(slot.Id))
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"No validation of epoch {report.Epoch} is expected from {slot}."));
            }
            if (!double.IsFinite(report.LossSum) || report.Tokens <= 0)
            {
                _validationPending[slot.Id] = (slot.Rank, _members.Count);
                throw Invalid(slot, $"a validation report of {report.LossSum} over {report.Tokens} tokens");
            }
            _validationLossSum += report.LossSum;
            _validationTokens += report.Tokens;
            finished = TryFinishValidation();
        }
        if (finished is not null)
        {
            EpochValidated?.Invoke(finished);
        }
    }

    /// <summary>A dropped worker's validation windows are scored here, on the replica, off the lock.</summary>
    private void ValidateLocally(int rank, int world)
    {
        _localValidations++;
        var windows = ValidationWindowsOf(rank, world);
        _localValidation = Task.Run(() =>
        {
            var loss = double.NaN;
            try
            {
                lock (_localEvaluationGate)
                {
                    _localEvaluation ??= new GptEvaluationSession(Config, Replica.Parameters, threads: 1);
                    loss = _localEvaluation.MeanLoss(new SubsetWindows(_sampler.Validation, windows));
                }
            }
            catch (Exception e)
            {
                _log.LogError(e, "Scoring a lost worker's validation windows failed; this validation's loss will be NaN");
            }
            EvaluationReport? finished;
            lock (_gate)
            {
                _validationLossSum += loss * windows.Length * Config.MaxSequenceLength;
                _validationTokens += (long)windows.Length * Config.MaxSequenceLength;
                _localValidations--;
                finished = TryFinishValidation();
            }
            if (finished is not null)
            {
                EpochValidated?.Invoke(finished);
            }
        });
    }

    private sealed record SubsetWindows(IWindowSource Source, int[] Windows) : IWindowSource
    {
        public int Count => Windows.Length;

        public void Fill(ReadOnlySpan<int> windows, Span<long> inputs, Span<long> targets)
        {
            Span<int> mapped = stackalloc int[windows.Length];
            for (var i = 0; i < windows.Length; i++)
            {
                mapped[i] = Windows[windows[i]];
            }
            Source.Fill(mapped, inputs, targets);
        }
    }

    private EvaluationReport? TryFinishValidation()
    {
        if (_phase != RunPhase.Validating || _validationPending.Count > 0 || _localValidations > 0)
        {
            return null;
        }
        _lastValLoss = _validationLossSum / _validationTokens;
        _lastTrainLoss = _epochLossSum / Math.Max(1, _epochSteps);
        var epochTokens = (long)_epochSteps * Config.BatchSize * Config.MaxSequenceLength;
        var report = new EvaluationReport(_step, _epoch, _lastTrainLoss, _lastValLoss, _schedule.At(Math.Max(0, _step - 1)),
            epochTokens / Math.Max(_epochClock.Elapsed.TotalSeconds, 1e-9));
        MetricsLog.Append(_options.OutputDirectory, report);
        SaveCheckpoint();
        (_epochLossSum, _epochSteps) = (0, 0);
        if (_step >= TotalSteps)
        {
            Finish(interrupted: false);
            return report;
        }
        if (StopRule?.Invoke(report) is { } reason)
        {
            _log.LogInformation("Stopping early at step {Step}: {Reason}", _step, reason);
            Finish(interrupted: false, stoppedEarly: reason);
            return report;
        }
        if (_stepInEpoch == StepsPerEpoch)
        {
            _epoch++;
            _stepInEpoch = 0;
            (_order, _offset) = (_sampler.EpochOrder(_epoch), _sampler.EpochOffset(_epoch));
        }
        _phase = RunPhase.Training;
        Admit();
        _epochClock.Restart();
        return report;
    }

    /// <summary>The position to resume from; the end of an epoch is saved as the start of the next.</summary>
    private TrainingState State => new()
    {
        Step = _step,
        Epoch = _stepInEpoch == StepsPerEpoch ? _epoch + 1 : _epoch,
        BatchInEpoch = _stepInEpoch == StepsPerEpoch ? 0 : _stepInEpoch,
        Seconds = _seconds,
        Tokens = _tokens,
        RngState = new Rng(Config.Seed).State,   // workers draw dropout masks from (seed, step, rank)
    };

    /// <summary>Checkpoints the replica where it stands (under the lock: workers' heartbeats do not need it).</summary>
    private void SaveCheckpoint() => TrainingJob.SaveCheckpoint(_options.OutputDirectory, Replica, State, _tokenizer);

    // ------------------------------------------------------------------ membership changes

    /// <summary>Ranks every live worker (members first, in rank order, then newcomers) and starts a new generation.</summary>
    private void Admit()
    {
        // Every member needs at least one sequence per step: extra workers wait (and take over if one is lost).
        var live = _members.Where(m => !m.Dropped)
            .Concat(_workers.Values.Where(w => !w.Dropped && w.Rank < 0))
            .Take(Config.BatchSize)
            .ToList();
        NewGeneration(live);
        if (_members.Count > 0)
        {
            _log.LogInformation("Generation {Generation}: {Count} workers from step {Step} (epoch {Epoch}): {Members}",
                _generation, _members.Count, _step, _epoch, string.Join(", ", _members));
        }
    }

    private void NewGeneration(List<WorkerSlot> members)
    {
        foreach (var member in _members)
        {
            EndStream(member);
        }
        _members.Clear();
        _members.AddRange(members);
        foreach (var waiting in _workers.Values.Where(w => !members.Contains(w)))
        {
            waiting.Rank = -1;
        }
        for (var rank = 0; rank < _members.Count; rank++)
        {
            _members[rank].Rank = rank;
        }
        _generation++;
        ResetReduction();
    }

    private void Drop(WorkerSlot slot, string reason)
    {
        if (slot.Dropped)
        {
            return;
        }
        (slot.Dropped, slot.DropReason) = (true, reason);
        EndStream(slot);
        var wasMember = _members.Remove(slot);
        _log.LogWarning("Lost {Worker}: {Reason}", slot, reason);
        if (!wasMember || _phase == RunPhase.Done)
        {
            return;
        }
        if (_validationPending.Remove(slot.Id, out var share))
        {
            ValidateLocally(share.Rank, share.WorldSize);
        }
        if (_members.Count < _options.MinWorkers)
        {
            _log.LogError("Only {Count} workers left, fewer than --min-workers {Min}: stopping the run at step {Step} with a checkpoint",
                _members.Count, _options.MinWorkers, _step);
            SaveCheckpoint();   // consistent: the step in flight was never applied
            Finish(interrupted: true);
            return;
        }
        if (_phase == RunPhase.Training)
        {
            // The step in flight is abandoned: the survivors redo it on a new split of the data.
            NewGeneration(_members.ToList());
            _log.LogInformation("Re-sharded: generation {Generation}, {Count} workers, redoing step {Step}", _generation, _members.Count, _step);
        }
    }

    private void Finish(bool interrupted, string? stoppedEarly = null)
    {
        _phase = RunPhase.Done;
        _log.LogInformation("Coordinator CPU time: {Cpu:F1} ms per step over {Steps} steps (reduction, replica update, gRPC)",
            Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds / Math.Max(1, _step - _firstStep), _step - _firstStep);
        foreach (var member in _members)
        {
            EndStream(member);
        }
        _completion.TrySetResult(new RunSummary(_lastValLoss, _lastTrainLoss, _tokens / Math.Max(_seconds, 1e-9), _seconds, _step,
            Replica.Layout.TotalLength, interrupted) { StoppedEarly = stoppedEarly });
    }

    /// <summary>Members holding up the current step (missing buckets) or validation (missing report).</summary>
    private List<WorkerSlot> Stalled() => _phase switch
    {
        RunPhase.Training => _members.Where(m => _arrived[m.Rank].Contains(false)).ToList(),
        RunPhase.Validating => _members.Where(m => _validationPending.ContainsKey(m.Id)).ToList(),
        _ => [],
    };

    /// <summary>Ends a worker's all-reduce stream after what was already queued for it has been sent.</summary>
    private static void EndStream(WorkerSlot slot)
    {
        slot.Replies?.Writer.TryComplete();
        slot.StreamAbort?.Cancel();
        slot.Replies = null;
    }

    private async Task WatchHeartbeats()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
        {
            lock (_gate)
            {
                if (_phase == RunPhase.Done)
                {
                    return;
                }
                var now = Environment.TickCount64;
                foreach (var slot in _workers.Values.Where(w => !w.Dropped && now - w.LastSeen > _options.Timeout.TotalMilliseconds).ToList())
                {
                    Drop(slot, $"no sign of life for {(now - slot.LastSeen) / 1000.0:F1} s (timeout {_options.Timeout.TotalSeconds:F0} s)");
                }
                if (now - _stepStarted > _options.StepTimeout.TotalMilliseconds)
                {
                    foreach (var slot in Stalled())
                    {
                        Drop(slot, $"alive but no {(_phase == RunPhase.Training ? "gradient" : "validation report")} for step {_step} " +
                                   $"after {(now - _stepStarted) / 1000.0:F0} s (--step-timeout {_options.StepTimeout.TotalSeconds:F0} s)");
                    }
                }
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _localValidation.Wait(TimeSpan.FromMinutes(1));
        _localEvaluation?.Dispose();
        _stop.Dispose();
    }
}

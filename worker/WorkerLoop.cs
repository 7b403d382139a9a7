using System.Diagnostics;
using System.Runtime.InteropServices;
using Distributed.Models.Config;
using Distributed.Models.Data;
using Distributed.Models.DataParallel;
using Distributed.Models.Gpt;
using Distributed.Models.Runtime;
using Distributed.Models.Training;
using Distributed.Models;
using Distributed.Protocol.V1;
using Distributed.Protocol;
using Grpc.Core;

namespace Distributed.Worker;

/// <summary>
/// A worker's life: join, then take assignments until told to stop. For each assignment: bring the
/// local replica up to the coordinator's state if needed, fetch the shard, and for every step compute
/// the gradient with the training graph (as grad_accum_steps micro-batches, then one all-reduce),
/// stream it in buckets, receive the averaged buckets and the step's closing message, and apply the
/// update (every member applies the same one; the coordinator applies none). After an assignment that
/// ends at an evaluation (validate_at_end), score the validation shard and report it; when asked, send
/// the coordinator this replica's state (for a checkpoint or a joiner).
/// </summary>
public sealed class WorkerLoop(WorkerOptions options, WorkerHealth health, WorkerMetrics metrics, ILogger<WorkerLoop> log)
{
    // Names the dropout-mask stream of a worker's assignment (differs from the trainer's own).
    private const ulong DropoutPurpose = 0x57_44_52_4F_50_4F_55_54; // "WDROPOUT"

    /// <summary>
    /// Works until the run is over (exit code 0), or until <paramref name="stop"/>: then leaves the run and returns 0.
    /// A coordinator that vanishes or is restarted is joined again, for up to --rejoin-timeout, and the run goes on.
    /// </summary>
    public async Task<int> RunAsync(StopSignal stop)
    {
        WorkerTraining? training = null;
        try
        {
            CoordinatorLostException? lost = null;
            while (true)
            {
                using var link = new CoordinatorLink(options, health, log);
                JoinReply join;
                try
                {
                    join = lost is null ? await link.JoinAsync(JoinRequest(), options.Timeout, "--timeout", stop.Token) : await RejoinAsync(link, lost, stop.Token);
                }
                catch (OperationCanceledException) when (stop.Token.IsCancellationRequested)
                {
                    log.LogInformation("Stopped ({Reason}) before joining a run", StopReason(stop));
                    return 0;
                }
                log.LogInformation("Joined run {Run} as {Worker}", join.RunId, join.WorkerId);
                try
                {
                    return await SessionAsync(link, join, () => Prepare(join, link), stop);
                }
                catch (CoordinatorLostException e) when (e.MayRejoin && options.RejoinTimeout > TimeSpan.Zero)
                {
                    lost = e;
                }
            }
        }
        finally
        {
            training?.Dispose();
        }

        WorkerTraining Prepare(JoinReply join, CoordinatorLink link)
        {
            var before = training;
            training = null;   // Training owns it now: hands it back, or disposes it
            return training = Training(before, join, link);
        }
    }

    private JoinRequest JoinRequest() => new()
    {
        ProtocolVersion = ProtocolVersion._2, WorkerName = options.Name, Device = options.Device, Threads = options.Threads,
        BootId = options.Transport is WorkerTransport.Auto or WorkerTransport.SharedMemory ? HostIdentity.BootId() : "",
        TcpDataPlane = options.Transport is WorkerTransport.Auto or WorkerTransport.Tcp,
    };

    /// <summary>Joins a coordinator that vanished or was restarted, for up to --rejoin-timeout; lost for good after that.</summary>
    private async Task<JoinReply> RejoinAsync(CoordinatorLink link, CoordinatorLostException lost, CancellationToken cancel)
    {
        var seconds = options.RejoinTimeout.TotalSeconds;
        log.LogWarning("Lost the coordinator: {Reason}. Trying to rejoin for up to --rejoin-timeout {Seconds:0.#} s", lost.Message, seconds);
        try
        {
            return await link.JoinAsync(JoinRequest(), options.RejoinTimeout, "--rejoin-timeout", cancel);
        }
        catch (WorkerStartException e)
        {
            throw new CoordinatorLostException($"{lost.Message}; then {e.Message}", mayRejoin: false);
        }
    }

    /// <summary>
    /// The replica and sessions for the run <paramref name="join"/> describes: new ones at the first join; after a
    /// rejoin, the same ones when the run's config is unchanged (only the data plane and the state are new),
    /// rebuilt when it changed (e.g. a resumed run's max_steps). A coordinator training another model is refused.
    /// Owns <paramref name="before"/>: returns it or disposes it.
    /// </summary>
    private WorkerTraining Training(WorkerTraining? before, JoinReply join, CoordinatorLink link)
    {
        GptConfig config;
        try
        {
            config = ConfigLoader.FromJson(join.ConfigJson, "the coordinator's config");
            if (ModelFingerprint.Of(config) != join.ModelFingerprint)
            {
                throw new InvalidOperationException($"This worker builds model {ModelFingerprint.Of(config)} but the run trains {join.ModelFingerprint}: run the same release as the coordinator.");
            }
            if (before is not null && (before.Join.ModelFingerprint != join.ModelFingerprint || before.Join.TokenizerJson != join.TokenizerJson))
            {
                throw new WorkerStartException($"the coordinator at {options.Coordinator} now trains another model (fingerprint {join.ModelFingerprint}, " +
                                               $"this worker trained {before.Join.ModelFingerprint}) or tokenizer: it is another run, not the one restarted; " +
                                               "start a new worker for it.");
            }
            if (before is not null && before.Join.ConfigJson == join.ConfigJson)
            {
                log.LogInformation("Rejoined the same run: keeping this worker's model and sessions; fetching the coordinator's state");
                before.Rejoined(join, link, options);
                return before;
            }
        }
        catch
        {
            before?.Dispose();
            throw;
        }
        if (before is not null)
        {
            log.LogInformation("Rejoined the same model with a changed config: building the model and sessions again");
            before.Dispose();
        }
        return new WorkerTraining(config, options, join, link, metrics, log);
    }

    /// <summary>
    /// One membership of a run: heartbeats and assignments until the run is over for this worker, a stop, or the
    /// coordinator is lost. The heartbeat starts first, so building the sessions does not count as silence.
    /// </summary>
    private async Task<int> SessionAsync(CoordinatorLink link, JoinReply join, Func<WorkerTraining> prepare, StopSignal stop)
    {
        using var running = CancellationTokenSource.CreateLinkedTokenSource(link.Lost);
        var heartbeat = link.HeartbeatAsync(join, TimeSpan.FromMilliseconds(join.HeartbeatIntervalMs), running.Token);
        try
        {
            var work = AssignmentsAsync(link, join, prepare(), running.Token);
            // A stop says goodbye before it cancels the work in flight, so the coordinator drops this worker at
            // once, with the reason, and re-shards, instead of finding a broken stream or waiting for a timeout.
            if (await Task.WhenAny(work, Task.Delay(Timeout.Infinite, stop.Token)) != work)
            {
                health.NotServing($"stopping: {StopReason(stop)}");
                await LeaveAsync(link, join.WorkerId, StopReason(stop));
                await running.CancelAsync();
            }
            return await work;
        }
        catch (Exception e) when (stop.Token.IsCancellationRequested && e is OperationCanceledException or RpcException)
        {
            log.LogInformation("Left the run ({Reason})", StopReason(stop));
            return 0;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            // Only a coordinator that never saw this worker's id says so: a restarted one.
            link.Forgotten();
            throw new CoordinatorLostException(link.LostReason!, link.MayRejoin);
        }
        catch (Exception e) when (link.Lost.IsCancellationRequested && e is OperationCanceledException or RpcException)
        {
            throw new CoordinatorLostException(link.LostReason ?? "the coordinator is gone", link.MayRejoin);
        }
        finally
        {
            await running.CancelAsync();
            try
            {
                await heartbeat;
            }
            catch (Exception e) when (e is OperationCanceledException or RpcException)
            {
                // A heartbeat in flight when the worker stops is of no interest.
            }
        }
    }

    private static string StopReason(StopSignal stop) => stop.Received ?? "stopped";

    /// <summary>Takes assignments until the run is over for this worker; returns its exit code.</summary>
    private async Task<int> AssignmentsAsync(CoordinatorLink link, JoinReply join, WorkerTraining training, CancellationToken cancel)
    {
        while (true)
        {
            try
            {
                if (await NextAsync(link, join, training, cancel) is { } exitCode)
                {
                    return exitCode;
                }
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Aborted)
            {
                log.LogInformation("Assignment ended early: {Detail}", e.Status.Detail);
            }
            catch (RpcException e) when (IsConnectionProblem(e) && !cancel.IsCancellationRequested)
            {
                // The heartbeat decides when the coordinator counts as lost; until then, keep asking.
                health.NotServing($"coordinator unreachable: {e.Status.Detail}");
                log.LogWarning("Lost the connection to the coordinator ({Status}); retrying", e.StatusCode);
                await Task.Delay(500, cancel);
            }
        }
    }

    /// <summary>Takes and carries out one assignment; returns an exit code when the run is over for this worker.</summary>
    private async Task<int?> NextAsync(CoordinatorLink link, JoinReply join, WorkerTraining training, CancellationToken cancel)
    {
        var assignment = await link.Client.NextAssignmentAsync(new AssignmentRequest { WorkerId = join.WorkerId, StateStep = training.StateStep },
            deadline: link.Deadline, cancellationToken: cancel);
        switch (assignment.Kind)
        {
            case Assignment.Types.Kind.Stop:
                log.LogInformation("Stopping: {Reason}", assignment.Reason);
                health.NotServing($"stopped: {assignment.Reason}");
                await LeaveAsync(link, join.WorkerId, "done");
                return 0;
            case Assignment.Types.Kind.Wait:
                await Task.Delay(assignment.RetryAfterMs, cancel);
                return null;
            case Assignment.Types.Kind.UploadState:
                await training.UploadStateAsync(assignment.FirstStep, cancel);
                return null;
        }
        health.Serving();
        await training.RunAsync(assignment, cancel);
        return null;
    }

    /// <summary>Tells the coordinator this worker is going; one already shut down is not an error, the worker goes either way.</summary>
    private async Task LeaveAsync(CoordinatorLink link, string workerId, string reason)
    {
        try
        {
            await link.Client.LeaveAsync(new LeaveRequest { WorkerId = workerId, Reason = reason }, deadline: link.Deadline, cancellationToken: CancellationToken.None);
        }
        catch (RpcException e)
        {
            log.LogInformation("Could not say goodbye ({Status}); leaving anyway", e.StatusCode);
        }
    }

    private static bool IsConnectionProblem(RpcException e)
        => e.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.DeadlineExceeded or StatusCode.Cancelled;

    /// <summary>The worker's replica and sessions, and one assignment's steps.</summary>
    private sealed class WorkerTraining : IDisposable
    {
        private readonly GptConfig config;
        private readonly int threads;
        private readonly ILogger log;
        private readonly WorkerMetrics metrics;
        private readonly ModelReplica _replica;
        private JoinReply join;
        private CoordinatorLink link;
        private GradientWire _wire;
        private long _stateStep = -1;   // optimizer steps in the local replica; -1: not known (not received yet, or a new coordinator's)
        private bool _seedState = true;   // the replica still holds the seed's initialisation (no step applied to it)
        private GradientAccumulation? _training;
        private GptEvaluationSession? _evaluation;

        public WorkerTraining(GptConfig config, WorkerOptions options, JoinReply join, CoordinatorLink link, WorkerMetrics metrics, ILogger log)
        {
            (this.config, threads, this.join, this.link, this.metrics, this.log) = (config, options.Threads, join, link, metrics, log);
            _replica = new ModelReplica(config);
            _wire = OpenWire(options);
            log.LogInformation("Gradients over {Transport}", _wire.Name);
            if (join.Workers > 0 && DataParallelLayout.MaxWorldSize(config.BatchSize, config.GradAccumSteps) >= join.Workers)
            {
                // Built before asking for work, so a generation starts with its members ready (not building sessions on the run's clock).
                _training = new GradientAccumulation(config, _replica, new DataParallelLayout(join.Workers, config.BatchSize, config.GradAccumSteps).MicroBatchOf(0), threads);
            }
        }

        /// <summary>The join this worker's current membership came from.</summary>
        public JoinReply Join => join;

        /// <summary>Optimizer steps in this replica of the run's state, as told to the coordinator; -1 when not (yet) the run's.</summary>
        public long StateStep => _stateStep;

        /// <summary>
        /// Carries the replica and sessions over to a new membership of the same run (a restarted coordinator): a
        /// new data plane (the old one's files or port are gone), and the state fetched, since this replica may be
        /// ahead of the checkpoint the coordinator resumed from.
        /// </summary>
        public void Rejoined(JoinReply newJoin, CoordinatorLink newLink, WorkerOptions options)
        {
            (join, link) = (newJoin, newLink);
            var wire = OpenWire(options);
            _wire.Dispose();
            _wire = wire;
            log.LogInformation("Gradients over {Transport}", _wire.Name);
            _stateStep = -1;
        }

        /// <summary>
        /// Shared memory when offered and its files open here, else raw TCP when offered, else the gRPC
        /// stream; --transport shared-memory or tcp allows no fallback.
        /// </summary>
        private GradientWire OpenWire(WorkerOptions options)
        {
            var transport = options.Transport;
            if (transport == WorkerTransport.Grpc)
            {
                return new InlineGradients(config.AllReduceDtype);
            }
            if (transport is WorkerTransport.Auto or WorkerTransport.SharedMemory)
            {
                string why;
                if (join.SharedMemory is { } offer)
                {
                    try
                    {
                        return SharedMemoryGradients.Open(offer, _replica.Gradients.Data.Length);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
                    {
                        why = $"its files do not open here ({e.Message})";
                    }
                }
                else
                {
                    why = "the coordinator offered none (another host, or it runs with shared memory off)";
                }
                if (transport == WorkerTransport.SharedMemory)
                {
                    throw new WorkerStartException($"--transport shared-memory, but {why}: run this worker on the coordinator's host as the same user, or use --transport auto.");
                }
                log.LogInformation("No shared memory: {Why}", why);
            }
            if (join.Tcp is { } tcp)
            {
                // The coordinator's host as this worker reaches it; the data plane listens on the same address.
                return new TcpGradients(tcp, options.Coordinator.DnsSafeHost, options.Timeout);
            }
            if (transport == WorkerTransport.Tcp)
            {
                throw new WorkerStartException("--transport tcp, but the coordinator offered no tcp data plane (it serves TLS, or runs with --transport grpc): use --transport auto.");
            }
            return new InlineGradients(config.AllReduceDtype);
        }

        public async Task RunAsync(Assignment assignment, CancellationToken cancel)
        {
            if (_seedState && _stateStep < 0 && assignment.InitialState && assignment.FirstStep == 0)
            {
                _stateStep = 0;   // a fresh run: this replica was built from the same seed, nothing to download
                log.LogInformation("The run's state is its seed's initialisation, built here");
            }
            if (_stateStep != assignment.FirstStep)
            {
                await FetchStateAsync(cancel);
            }
            var (train, validation) = await FetchShardAsync(assignment.Generation, cancel);
            var layout = new DataParallelLayout(assignment.WorldSize, assignment.GlobalBatchSize, config.GradAccumSteps);
            if (_training is null || _training.MicroBatch != layout.MicroBatchOf(assignment.Rank))
            {
                _training?.Dispose();
                _training = new GradientAccumulation(config, _replica, layout.MicroBatchOf(assignment.Rank), threads);
            }
            log.LogInformation("Generation {Generation}: rank {Rank} of {World}, epoch {Epoch}, steps {First}..{Last}, batch {Batch}",
                assignment.Generation, assignment.Rank, assignment.WorldSize, assignment.Epoch, assignment.FirstStep,
                assignment.FirstStep + assignment.Steps - 1, assignment.BatchSize);
            await TrainStepsAsync(assignment, layout, train, _training, cancel);
            if (assignment.ValidateAtEnd)
            {
                _evaluation ??= new GptEvaluationSession(config, _replica.Parameters, threads);
                var loss = _evaluation.MeanLoss(validation);
                var tokens = (long)validation.Count * config.MaxSequenceLength;
                await link.Client.ReportValidationAsync(new ValidationReport
                {
                    WorkerId = join.WorkerId, Generation = assignment.Generation, LossSum = loss * tokens, Tokens = tokens,
                }, deadline: link.Deadline, cancellationToken: cancel);
            }
        }

        private async Task TrainStepsAsync(Assignment assignment, DataParallelLayout layout, WindowShard shard, GradientAccumulation training, CancellationToken cancel)
        {
            using var stream = new AllReduceStream(link.Client, join.WorkerId, join.ModelFingerprint, assignment.Generation, _wire, cancel);
            var rng = new Rng(DerivedSeed.For(config.Seed, DropoutPurpose, (long)assignment.FirstStep << 16 | (uint)assignment.Rank));
            var windows = new int[assignment.BatchSize];
            var total = new StepPhases();
            var cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
            for (var i = 0; i < assignment.Steps; i++)
            {
                var step = assignment.FirstStep + i;
                layout.ShardWindows(i, assignment.Rank, windows);
                var started = Stopwatch.GetTimestamp();
                var loss = training.ComputeGradients(layout, assignment.Rank, shard, windows, rng);
                var computed = Stopwatch.GetTimestamp();
                var done = await stream.ReduceAsync(step, loss, _replica.Gradients.Data, cancel);
                var reduced = Stopwatch.GetTimestamp();
                _replica.Apply(done.ClipScale, done.LearningRate);
                (_stateStep, _seedState) = (step + 1, false);
                var phases = new StepPhases(Stopwatch.GetElapsedTime(started, computed), Stopwatch.GetElapsedTime(computed, reduced), Stopwatch.GetElapsedTime(reduced));
                metrics.StepApplied(step, assignment.Rank, phases);
                total += phases;
            }
            await stream.CompleteAsync(cancel);
            var perStep = 1000.0 / Math.Max(1, assignment.Steps);
            log.LogInformation(
                "{Steps} steps: per step {Compute:F1} ms forward/backward, {Reduce:F1} ms all-reduce (send, wait, receive), {Optimizer:F1} ms optimizer; " +
                "this process used {Cpu:F1} ms CPU per step; peak RSS {Rss} MB",
                assignment.Steps, total.Compute.TotalSeconds * perStep, total.AllReduce.TotalSeconds * perStep,
                total.Optimizer.TotalSeconds * perStep, (Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart).TotalSeconds * perStep,
                Process.GetCurrentProcess().PeakWorkingSet64 >> 20);
        }

        private async Task FetchStateAsync(CancellationToken cancel)
        {
            var targets = _replica.StateBuffers.ToDictionary(b => b.Name, b => b.Buffer.Data);
            var received = new Dictionary<string, byte[]>();
            long step = 0;
            await foreach (var chunk in link.Download(token => link.Client.FetchState(new StateRequest { WorkerId = join.WorkerId }, cancellationToken: token), cancel))
            {
                step = chunk.Step;
                if (!received.TryGetValue(chunk.Tensor, out var blob))
                {
                    received[chunk.Tensor] = blob = new byte[chunk.TotalElements * sizeof(float)];
                }
                if (Chunks.Put(blob, chunk.Offset * sizeof(float), chunk.Data, chunk.Sha256, $"State tensor '{chunk.Tensor}'"))
                {
                    MemoryMarshal.Cast<byte, float>(blob).CopyTo(targets[chunk.Tensor]);
                }
            }
            _stateStep = step;
            _replica.Optimizer.RestoreSteps(step);
            log.LogInformation("Received the coordinator's state at step {Step}", step);
        }

        /// <summary>
        /// Sends this replica's state (of <paramref name="step"/> steps) to the coordinator, which asked for it: it keeps
        /// no state of its own in step, and needs one for a checkpoint, a joiner or a lost member's validation share.
        /// </summary>
        public async Task UploadStateAsync(int step, CancellationToken cancel)
        {
            if (_stateStep != step)
            {
                throw new InvalidOperationException($"The coordinator asked for the state of step {step}, but this worker holds step {_stateStep}.");
            }
            var clock = Stopwatch.StartNew();
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            using var call = link.Client.UploadState(cancellationToken: idle.Token);
            foreach (var (name, buffer) in _replica.StateBuffers)
            {
                foreach (var (offset, chunk, sha256) in Chunks.Of(new FloatBytes(buffer.Data).Memory, Chunks.SmallBytes))
                {
                    idle.CancelAfter(link.Timeout);   // each chunk within the run's timeout, as the coordinator expects
                    await call.RequestStream.WriteAsync(new StateChunk
                    {
                        WorkerId = join.WorkerId, Step = step, Tensor = name, Offset = offset / sizeof(float), Data = chunk,
                        TotalElements = buffer.Data.Length, Sha256 = sha256,
                    }, idle.Token);
                }
            }
            idle.CancelAfter(link.Timeout);
            await call.RequestStream.CompleteAsync();
            await call.ResponseAsync;
            log.LogInformation("Sent this worker's state of step {Step} to the coordinator in {Seconds:F1} s", step, clock.Elapsed.TotalSeconds);
        }

        private async Task<(WindowShard Train, WindowShard Validation)> FetchShardAsync(long generation, CancellationToken cancel)
        {
            var blobs = new Dictionary<ShardChunk.Types.Split, byte[]>();
            var request = new ShardRequest { WorkerId = join.WorkerId, Generation = generation };
            await foreach (var chunk in link.Download(token => link.Client.FetchShard(request, cancellationToken: token), cancel))
            {
                if (!blobs.TryGetValue(chunk.Split, out var blob))
                {
                    blobs[chunk.Split] = blob = new byte[chunk.TotalTokens * sizeof(int)];
                }
                Chunks.Put(blob, chunk.Offset * sizeof(int), chunk.Tokens, chunk.Sha256, $"The {chunk.Split} shard");
            }
            WindowShard Shard(ShardChunk.Types.Split split) =>
                new(MemoryMarshal.Cast<byte, int>(blobs.GetValueOrDefault(split, [])).ToArray(), config.MaxSequenceLength);
            return (Shard(ShardChunk.Types.Split.Train), Shard(ShardChunk.Types.Split.Validation));
        }

        public void Dispose()
        {
            _training?.Dispose();
            _evaluation?.Dispose();
            _wire.Dispose();
        }
    }
}

using Distributed.Models;
using Distributed.Models.Data;
using Distributed.Models.Training;

namespace Distributed.Coordinator.Distributed;

/// <summary>
/// The coordinator's copy of the run's state (<see cref="Replica"/>). The members hold the run's state and
/// step it; the coordinator takes no optimizer step of its own (at GPT-2-small that pass over parameters,
/// gradients and both moments is most of its CPU per step, and it slowed the members' own). Its copy is
/// brought up to the run's step only when something needs it (a checkpoint, a joiner's download, a lost
/// member's validation share): one member that holds the step is asked for its state (an upload
/// assignment) before it trains on. When no live worker holds the run's step any more, the run goes
/// back to the copy's step.
/// </summary>
public sealed partial class DistributedRun
{
    private TrainingState _copyState = null!;   // where the copy stands (set by the constructor)
    private WorkerSlot? _uploader;              // the member asked for its state, until it arrives or the member is lost
    private StateUpload? _upload;               // that member's upload under way: one at a time, so one buffer set at most
    private bool _checkpointWanted;             // a checkpoint of the run's step waits for a member's state
    private readonly List<Action> _waitingForState = [];   // posted to the loop once the copy holds the run's step
    private TaskCompletionSource _stateArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _downloadsWaiting;
    private RunSummary? _endSummary;   // the ended run's summary, published once its pending checkpoint is written
    private ReplicaSnapshot? _spareState;   // an earlier upload's buffers, free again: the next upload fills them (no fresh pages to fault in)

    /// <summary>The optimizer steps in the coordinator's copy of the state (the run may be further on).</summary>
    public int StateCopyStep { get { lock (_gate) { return _copyState.Step; } } }

    private bool StateIsCurrent => _copyState.Step == _position.Step;

    /// <summary>A live worker holds the run's current step (so its state can still be had).</summary>
    private bool AnyHolder => _membership.Live.Any(w => w.StateStep == _position.Step);

    /// <summary>Under the lock: where the run stands, as a checkpoint records it.</summary>
    private TrainingState StateNow() => new()
    {
        Step = _position.Step,
        Epoch = _position.Epoch,
        BatchInEpoch = _position.StepInEpoch,
        Seconds = _priorSeconds + _trainClock.Elapsed.TotalSeconds,
        Tokens = _tokens,
        RngState = new Rng(Config.Seed).State,   // workers draw dropout masks from (seed, step, rank)
    };

    /// <summary>
    /// Under the lock: whether <paramref name="caller"/>, asking for work, is to send its state first: it
    /// holds the run's step, the copy is older, nobody else is sending, and something waits for it (in
    /// training: a member of the generation that has to download the state).
    /// </summary>
    private bool ShouldUpload(WorkerSlot caller)
        => !StateIsCurrent && _uploader is null && !caller.Dropped && caller.StateStep == _position.Step
           && (_checkpointWanted || _waitingForState.Count > 0 || _downloadsWaiting > 0
               || (_phase == RunPhase.Training && _membership.Members.Any(m => m.StateStep != _position.Step)));

    /// <summary>Opens the upload the caller was asked for (of <paramref name="step"/> steps); refused if it was not asked, or already sends.</summary>
    public StateUpload BeginStateUpload(WorkerSlot caller, long step)
    {
        ReplicaSnapshot? spare;
        lock (_gate)
        {
            RequireUploader(caller, step);
            (spare, _spareState) = (_spareState, null);
        }
        var blank = spare ?? ReplicaSnapshot.Blank(Replica);   // the size of the whole state: allocated outside the run's lock
        lock (_gate)
        {
            try
            {
                RequireUploader(caller, step);
            }
            catch
            {
                _spareState ??= blank;
                throw;
            }
            return _upload = new StateUpload(caller, step, blank, AbandonStateUpload);
        }
    }

    private void RequireUploader(WorkerSlot caller, long step)
    {
        if (_uploader != caller || step != _position.Step || StateIsCurrent)
        {
            throw new Refusal(RefusalKind.Stale, $"No state of step {step} is expected from {caller} now; ask for an assignment.").ToException();
        }
        if (_upload is not null)
        {
            throw new Refusal(RefusalKind.Busy, $"{caller} is already sending its state; one upload at a time.").ToException();
        }
    }

    /// <summary>
    /// Under the lock, when <paramref name="slot"/> asks again or is gone: a turn it was given but is not using (its upload
    /// never opened, or failed) is free again, and the upload of a worker that is gone is abandoned (it is refused when it ends).
    /// </summary>
    private void ReleaseUploadTurn(WorkerSlot slot)
    {
        if (_upload?.Sender == slot && slot.Dropped)
        {
            _upload = null;
        }
        if (_uploader == slot && (_upload is null || slot.Dropped))
        {
            _uploader = null;
        }
    }

    /// <summary>The caller's upload is over: its state becomes the copy, and what waited for it goes on.</summary>
    public void CompleteStateUpload(WorkerSlot caller, StateUpload upload)
    {
        lock (_gate)
        {
            if (_upload != upload || _uploader != caller || upload.Step != _position.Step)
            {
                throw new Refusal(RefusalKind.Stale, $"The state of step {upload.Step} from {caller} is no longer wanted (the workers changed); ask for an assignment.").ToException();
            }
            if (!upload.IsComplete)
            {
                RejectStateUpload(caller, $"a state without {upload.Missing}");
            }
            (_upload, _uploader) = (null, null);
            upload.Taken();
            Replica.Load(upload.State, upload.Step);
            _copyState = StateNow();
            caller.StateStep = upload.Step;
            _log.LogInformation("Took the state of step {Step} from {Worker}", upload.Step, caller);
            StateArrived(upload.State);
        }
    }

    /// <summary>The caller sent a state that is not whole or not sound: it is dropped, and the state asked of another.</summary>
    public void RejectStateUpload(WorkerSlot caller, string problem)
    {
        lock (_gate)
        {
            var message = $"{caller} sent {problem}.";
            _log.LogWarning("Refused a state: {Message}", message);
            Drop(caller, message);
            throw new Refusal(RefusalKind.InvalidData, message).ToException();
        }
    }

    /// <summary>
    /// An upload ended without being taken (its handler is done with it): the turn is free for another holder's (or the
    /// same one's) next ask, and its buffers for the next upload.
    /// </summary>
    private void AbandonStateUpload(StateUpload upload)
    {
        lock (_gate)
        {
            if (_upload == upload)
            {
                (_upload, _uploader) = (null, null);
            }
            _spareState ??= upload.State;
        }
    }

    /// <summary>
    /// Under the lock, when <paramref name="slot"/> was dropped or left: its upload turn is over, and once the run is over, a
    /// checkpoint that waits for a state no live worker holds any more is of the copy instead.
    /// </summary>
    private void HolderGone(WorkerSlot slot)
    {
        ReleaseUploadTurn(slot);
        if (_phase == RunPhase.Done && _checkpointWanted && !AnyHolder)
        {
            CheckpointCopyInstead("the last worker that held it is gone");
        }
    }

    /// <summary>Under the lock: the copy holds the run's step now (in <paramref name="state"/>, which nothing else changes).</summary>
    private void StateArrived(ReplicaSnapshot state)
    {
        if (_checkpointWanted)
        {
            _checkpointWanted = false;
            // The upload is of the run's step: where the run stands now. Its buffers are free again once written.
            Write(state, StateNow()).ContinueWith(_ => { lock (_gate) { _spareState ??= state; } }, TaskScheduler.Default);
        }
        else
        {
            _spareState ??= state;   // copied into the copy already
        }
        _waitingForState.ForEach(Post);
        _waitingForState.Clear();
        WakeDownloads();
        PublishIfEnded();
    }

    private void WakeDownloads()
    {
        _stateArrived.TrySetResult();
        _stateArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Under the lock: runs <paramref name="action"/> on the loop once the copy holds the run's step (now, if it does).</summary>
    private void WhenStateCurrent(Action action)
    {
        if (StateIsCurrent)
        {
            Post(action);
        }
        else
        {
            _waitingForState.Add(action);
        }
    }

    /// <summary>
    /// Under the lock: queues the metrics row (if any), then a checkpoint of the run's step: now, or once a member's state
    /// arrives. (A resumed run drops the rows after its checkpoint's step, so a row may go ahead of its checkpoint.)
    /// </summary>
    private void RequestCheckpoint(EvaluationReport? report)
    {
        if (report is not null)
        {
            var directory = _options.OutputDirectory;
            _writer.Enqueue(() => MetricsLog.Append(directory, report));
        }
        if (StateIsCurrent)
        {
            Write(ReplicaSnapshot.Copy(Replica), StateNow());
            return;
        }
        _checkpointWanted = true;
    }

    /// <summary>Under the lock, once the run is over: its summary is published when no checkpoint waits any more and the files queued before it are written.</summary>
    private void PublishIfEnded()
    {
        if (_phase == RunPhase.Done && !_checkpointWanted && _endSummary is { } summary)
        {
            _endSummary = null;
            _writer.Enqueue(() => { }).ContinueWith(_ => _completion.TrySetResult(summary), TaskScheduler.Default);
        }
    }

    /// <summary>
    /// Under the lock, after the run ended: its checkpoint waits for a holder's state for up to --timeout,
    /// or for none when no live worker holds the step; then the copy's older step is checkpointed instead.
    /// </summary>
    private void AwaitFinalState()
    {
        if (!_checkpointWanted)
        {
            return;
        }
        if (!AnyHolder)
        {
            CheckpointCopyInstead("no live worker holds it");
            return;
        }
        _log.LogInformation("Waiting up to {Seconds:0.#} s for a worker to send its state of step {Step} for the checkpoint", _options.Timeout.TotalSeconds, _position.Step);
        GiveUpOnFinalState(received: -1);
    }

    /// <summary>
    /// After --timeout: the copy is checkpointed instead, unless the state came, or an upload under way has moved on
    /// since (<paramref name="received"/> bytes before); it cannot go on for ever, as its chunks come in order, within the state's size.
    /// </summary>
    private void GiveUpOnFinalState(long received)
        => Task.Delay(_options.Timeout).ContinueWith(_ =>
        {
            lock (_gate)
            {
                if (!_checkpointWanted)
                {
                    return;
                }
                if (_upload is { } upload && upload.Received > received)
                {
                    GiveUpOnFinalState(upload.Received);
                    return;
                }
                CheckpointCopyInstead($"none came within --timeout {_options.Timeout.TotalSeconds:0.#} s");
            }
        }, TaskScheduler.Default);

    /// <summary>Under the lock: the pending checkpoint cannot have the run's step; the copy's step is saved in its place.</summary>
    private void CheckpointCopyInstead(string why)
    {
        _checkpointWanted = false;
        _log.LogWarning("No state of step {Step} from a worker ({Why}): the checkpoint holds step {Copy}, the last state the coordinator has",
            _position.Step, why, _copyState.Step);
        Write(ReplicaSnapshot.Copy(Replica), _copyState);
        PublishIfEnded();
    }

    /// <summary>
    /// Under the lock, for a new generation of <paramref name="members"/>: when none of them holds the run's step
    /// and the copy is older (every worker that held it was lost), the run goes back to the copy's step.
    /// </summary>
    private void RewindIfStateLost(IReadOnlyList<WorkerSlot> members)
    {
        if (StateIsCurrent || members.Any(m => m.StateStep == _position.Step))
        {
            return;
        }
        _log.LogWarning("No worker holds the state of step {Step} any more: going back to step {Copy}, the last state the coordinator has; the steps between are trained again",
            _position.Step, _copyState.Step);
        _position = new SchedulePosition(_copyState.Step, _copyState.Epoch, _copyState.BatchInEpoch);
        _tokens = _copyState.Tokens;
        (_checkpointWanted, _uploader, _upload, _validation) = (false, null, null, null);   // their step is gone with the state
        _waitingForState.Clear();
        WakeDownloads();
    }

    /// <summary>Under the lock: a checkpoint of <paramref name="snapshot"/>, which nothing else writes to, at <paramref name="state"/>.</summary>
    private Task Write(ReplicaSnapshot snapshot, TrainingState state)
    {
        var directory = _options.OutputDirectory;
        return _writer.Enqueue(() =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            TrainingJob.SaveCheckpoint(directory, snapshot, state, _tokenizer);
            _metrics?.CheckpointWritten(clock.Elapsed);
        });
    }
}

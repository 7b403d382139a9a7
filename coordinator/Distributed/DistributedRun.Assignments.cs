using Distributed.Models.Training;

namespace Distributed.Coordinator.Distributed;

/// <summary>What members are handed: assignments (cut by the step schedule), a copy of the run's state, their shards.</summary>
public sealed partial class DistributedRun
{
    /// <param name="stateStep">The optimizer steps in the caller's replica of the run's state, as it says; -1 when it holds none.</param>
    public WorkAssignment NextAssignment(WorkerSlot caller, long stateStep)
    {
        lock (_gate)
        {
            var now = Environment.TickCount64;
            caller.LastAsked = caller.LastSeen = now;
            if (caller.Dropped)
            {
                return WorkAssignment.Stop($"dropped: {caller.DropReason}");
            }
            caller.StateStep = stateStep;
            ReleaseUploadTurn(caller);   // asking again: an upload it was asked for did not open, or failed
            if (ShouldUpload(caller))
            {
                _uploader = caller;
                _log.LogInformation("Asking {Worker} for its state of step {Step}", caller, _position.Step);
                return WorkAssignment.Upload(_position.Step);
            }
            if (_phase == RunPhase.Done)
            {
                // A holder stays at hand while another one's upload for the last checkpoint is under way.
                return _checkpointWanted && _uploader is not null && stateStep == _position.Step
                    ? WorkAssignment.Wait(RetryAfter)
                    : WorkAssignment.Stop("the run is over");
            }
            TryStart(now);
            if (caller.Rank < 0 || _phase != RunPhase.Training)
            {
                return WorkAssignment.Wait(RetryAfter);
            }
            var steps = Schedule.StepsUntilBoundary(_position);
            return new WorkAssignment(AssignmentKind.Train)
            {
                Generation = _membership.Generation,
                Rank = caller.Rank,
                WorldSize = _layout.WorldSize,
                Epoch = _position.Epoch,
                FirstStep = _position.Step,
                Steps = steps,
                BatchSize = _layout.BatchOf(caller.Rank),
                GlobalBatchSize = _layout.GlobalBatch,
                ValidateAtEnd = Schedule.EvaluatesAfter(_position.Step + steps),
                InitialState = _initialState,
            };
        }
    }

    /// <summary>
    /// A copy of the run's parameters and optimizer moments for a member of the current generation, once
    /// the coordinator's copy holds the run's step (waiting up to --timeout for a member's upload),
    /// holding one of <see cref="MaxStateDownloads"/> slots until disposed.
    /// </summary>
    public async Task<StateDownload> BeginStateDownload(WorkerSlot caller, CancellationToken cancel)
    {
        lock (_gate)
        {
            RequireMember(caller, null);
            if (caller.Downloading)
            {
                throw new Refusal(RefusalKind.Busy, $"{caller} is already downloading the state; one download per worker.").ToException();
            }
            caller.Downloading = true;
        }
        var release = () =>
        {
            lock (_gate)
            {
                caller.Downloading = false;
            }
        };
        bool admitted;
        try
        {
            admitted = await _stateDownloads.WaitAsync(_options.Timeout, cancel);
        }
        catch
        {
            release();   // the caller gave up waiting: its next attempt must not find itself still downloading
            throw;
        }
        if (!admitted)
        {
            release();
            throw new Refusal(RefusalKind.Busy, $"{MaxStateDownloads} state downloads are already under way; try again.").ToException();
        }
        try
        {
            var giveUp = DateTime.UtcNow + _options.Timeout;
            while (true)
            {
                Task arrived;
                lock (_gate)
                {
                    RequireMember(caller, null);
                    if (StateIsCurrent)
                    {
                        var tensors = Replica.StateBuffers.Select(b => (b.Name, (float[])b.Buffer.Data.Clone())).ToList();
                        caller.StateStep = _copyState.Step;
                        return new StateDownload(_copyState.Step, tensors, () =>
                        {
                            release();
                            _stateDownloads.Release();
                        });
                    }
                    arrived = _stateArrived.Task;   // a member holding the run's step is asked for its state (ShouldUpload)
                    _downloadsWaiting++;
                }
                try
                {
                    var left = giveUp - DateTime.UtcNow;
                    if (left <= TimeSpan.Zero || await Task.WhenAny(arrived, Task.Delay(left, cancel)) != arrived)
                    {
                        cancel.ThrowIfCancellationRequested();
                        throw new Refusal(RefusalKind.Busy, $"No member sent the run's state of step {CompletedSteps} within --timeout {_options.Timeout.TotalSeconds:0.#} s; try again.").ToException();
                    }
                }
                finally
                {
                    lock (_gate)
                    {
                        _downloadsWaiting--;
                    }
                }
            }
        }
        catch
        {
            release();
            _stateDownloads.Release();
            throw;
        }
    }

    /// <summary>The member's training windows for its assignment (in step order) and its share of the windows of the evaluation it ends at, as tokens.</summary>
    public (int[] Train, int[] Validation) Shard(WorkerSlot caller, long generation)
    {
        lock (_gate)
        {
            RequireMember(caller, generation);
            if (_orderEpoch != _position.Epoch)
            {
                (_order, _offset, _orderEpoch) = (_sampler.EpochOrder(_position.Epoch), _sampler.EpochOffset(_position.Epoch), _position.Epoch);
            }
            var steps = Schedule.StepsUntilBoundary(_position);
            return _layout.CutShard(_sampler, _order, _offset, _position.StepInEpoch, steps, caller.Rank, EvaluationWindows(_position.Step + steps));
        }
    }

    /// <summary>Under the lock: refuses a caller that is not a member of the current training generation (of <paramref name="generation"/>, when given).</summary>
    private void RequireMember(WorkerSlot caller, long? generation)
    {
        if (caller.Dropped || caller.Rank < 0 || _phase != RunPhase.Training || (generation is { } g && g != _membership.Generation))
        {
            throw new Refusal(RefusalKind.Stale,
                $"{caller} is not a member of the current generation ({_membership.Generation}); ask for a new assignment.").ToException();
        }
    }
}

using Distributed.Models.Training;

namespace Distributed.Coordinator.Distributed;

/// <summary>What members are handed: assignments (cut by the step schedule), a copy of the replica's state, their shards.</summary>
public sealed partial class DistributedRun
{
    public WorkAssignment NextAssignment(WorkerSlot caller)
    {
        lock (_gate)
        {
            var now = Environment.TickCount64;
            caller.LastAsked = caller.LastSeen = now;
            if (caller.Dropped)
            {
                return WorkAssignment.Stop($"dropped: {caller.DropReason}");
            }
            if (_phase == RunPhase.Done)
            {
                return WorkAssignment.Stop("the run is over");
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
    /// A copy of the replica's parameters and optimizer moments for a member of the current generation,
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
            lock (_gate)
            {
                RequireMember(caller, null);
                var tensors = Replica.StateBuffers.Select(b => (b.Name, (float[])b.Buffer.Data.Clone())).ToList();
                return new StateDownload(_position.Step, tensors, () =>
                {
                    release();
                    _stateDownloads.Release();
                });
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

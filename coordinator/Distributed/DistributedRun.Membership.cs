using Distributed.Models.DataParallel;

namespace Distributed.Coordinator.Distributed;

/// <summary>Changes of members: the start, each new generation, and drops (the run goes on without the dropped if it can).</summary>
public sealed partial class DistributedRun
{
    /// <summary>
    /// At most --workers members (and never more than a micro-batch has sequences: each needs one per
    /// micro-batch); other ready workers wait, and take the place of one that is lost.
    /// </summary>
    private int MaxMembers => Math.Min(_options.Workers, DataParallelLayout.MaxWorldSize(Config.BatchSize, Config.GradAccumSteps));

    /// <summary>Starts training once enough workers that joined also ask for work (a joined worker gone silent is never waited for).</summary>
    private void TryStart(long now)
    {
        if (_phase == RunPhase.WaitingForWorkers && _membership.Ready(now).Count() >= _options.Workers)
        {
            _log.LogInformation("All {Count} workers joined; training {Steps} steps ({PerEpoch} per epoch)",
                _options.Workers, Schedule.TotalSteps - _position.Step, Schedule.StepsPerEpoch);
            Admit(now);
        }
    }

    /// <summary>
    /// A new generation of the live members and ready newcomers (members first, in rank order),
    /// training from where the run stands; or the run's end when fewer than --min-workers are left.
    /// </summary>
    private void Admit(long now)
    {
        var members = _membership.NextMembers(now, MaxMembers);
        if (members.Count < _options.MinWorkers)
        {
            _log.LogError("Only {Count} workers left, fewer than --min-workers {Min}: stopping the run at step {Step} with a checkpoint",
                members.Count, _options.MinWorkers, _position.Step);
            EndRun(interrupted: true, checkpoint: true);   // consistent: a step in flight was never applied
            return;
        }
        RewindIfStateLost(members);
        _membership.NewGeneration(members);
        _layout = new DataParallelLayout(members.Count, Config.BatchSize, Config.GradAccumSteps);
        _reduction.Begin(_position.Step, _layout, newGeneration: true);
        _watch.Begin(WaitKind.Step, now);
        _phase = RunPhase.Training;
        _trainClock.Start();
        _log.LogInformation("Generation {Generation}: {Count} workers from step {Step} (epoch {Epoch}): {Members}",
            _membership.Generation, members.Count, _position.Step, _position.Epoch, string.Join(", ", members));
    }

    /// <summary>Drops a worker that left, failed, went silent or sent something it must not; the run goes on without it if it can.</summary>
    private void Drop(WorkerSlot slot, string reason)
    {
        var wasLive = !slot.Dropped;
        var wasMember = _membership.Drop(slot, reason);
        slot.Detach(null, membershipChanged: true);
        if (wasLive)
        {
            _log.LogWarning("Lost {Worker}: {Reason}", slot, reason);
            _metrics?.WorkersChanged(_membership.Live.Count(), lost: _phase != RunPhase.Done);
        }
        HolderGone(slot);
        if (!wasMember || _phase == RunPhase.Done)
        {
            return;
        }
        if (_validation?.TakeOver(slot) is { } rank)
        {
            ScoreLocally(_validation, rank);
        }
        if (_phase == RunPhase.Training)
        {
            // The step in flight is abandoned: the survivors (and any ready newcomer) redo it on a new split of the data.
            CloseLinks();
            _watch.Abandon();
            Admit(Environment.TickCount64);
            if (_phase != RunPhase.Done)
            {
                _log.LogInformation("Re-sharded: generation {Generation}, {Count} workers, redoing step {Step}",
                    _membership.Generation, _layout.WorldSize, _position.Step);
            }
        }
        else if (_membership.NextMembers(Environment.TickCount64, MaxMembers).Count < _options.MinWorkers)
        {
            Admit(Environment.TickCount64);   // ends the run: too few left even with the waiting workers
        }
        else if (_phase == RunPhase.Validating && !StateIsCurrent && !AnyHolder)
        {
            // Nobody can score the lost shares on the step's state any more: the step is trained again.
            _log.LogWarning("The validation of step {Step} is abandoned: no live worker holds that step's state", _position.Step);
            Admit(Environment.TickCount64);
        }
    }

    /// <summary>Every remembered worker as it stands: the members in rank order, then those waiting, then the dropped.</summary>
    public IReadOnlyList<WorkerView> Roster()
    {
        var now = Environment.TickCount64;
        lock (_gate)
        {
            return _membership.Roster
                .OrderBy(w => w.Dropped).ThenBy(w => w.Rank < 0).ThenBy(w => w.Rank).ThenBy(w => w.Sequence)
                .Select(w => WorkerView.Of(w, now, _options.HeartbeatInterval))
                .ToList();
        }
    }

    /// <summary>Ends every member's link: the generation is over under them.</summary>
    private void CloseLinks()
    {
        foreach (var member in _membership.Members)
        {
            member.Detach(null, membershipChanged: true);
        }
    }
}

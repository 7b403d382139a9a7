using Distributed.Models.DataParallel;

namespace Distributed.Coordinator.Distributed;

/// <summary>Changes of members: the start, each new generation, and drops (the run goes on without the dropped if it can).</summary>
public sealed partial class DistributedRun
{
    /// <summary>Starts training once enough workers that joined also ask for work (a joined worker gone silent is never waited for).</summary>
    private void TryStart(long now)
    {
        if (_phase == RunPhase.WaitingForWorkers && _membership.Ready(now).Count() >= _options.Workers)
        {
            _phase = RunPhase.Training;
            Admit(now);
            _log.LogInformation("All {Count} workers joined; training {Steps} steps ({PerEpoch} per epoch)",
                _layout.WorldSize, Schedule.TotalSteps - _position.Step, Schedule.StepsPerEpoch);
        }
    }

    /// <summary>A new generation of the live members and ready newcomers (members first, in rank order), training from where the run stands.</summary>
    private void Admit(long now)
    {
        // Every member needs at least one sequence per step: extra workers wait (and take over if one is lost).
        var members = _membership.NextMembers(now, Config.BatchSize);
        _membership.NewGeneration(members);
        _layout = new DataParallelLayout(members.Count, Config.BatchSize);
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
        slot.Link?.Close(membershipChanged: true);
        slot.Link = null;
        if (wasLive)
        {
            _log.LogWarning("Lost {Worker}: {Reason}", slot, reason);
        }
        if (!wasMember || _phase == RunPhase.Done)
        {
            return;
        }
        if (_validation?.TakeOver(slot) is { } rank)
        {
            ScoreLocally(_validation, rank);
        }
        var left = _membership.NextMembers(Environment.TickCount64, Config.BatchSize).Count;
        if (left < _options.MinWorkers)
        {
            _log.LogError("Only {Count} workers left, fewer than --min-workers {Min}: stopping the run at step {Step} with a checkpoint",
                left, _options.MinWorkers, _position.Step);
            EndRun(interrupted: true, checkpoint: true);   // consistent: a step in flight was never applied
        }
        else if (_phase == RunPhase.Training)
        {
            // The step in flight is abandoned: the survivors (and any ready newcomer) redo it on a new split of the data.
            foreach (var member in _membership.Members)
            {
                member.Link?.Close(membershipChanged: true);
                member.Link = null;
            }
            _watch.Abandon();
            Admit(Environment.TickCount64);
            _log.LogInformation("Re-sharded: generation {Generation}, {Count} workers, redoing step {Step}", _membership.Generation, left, _position.Step);
        }
    }
}

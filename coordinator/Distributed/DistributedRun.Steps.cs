using System.Diagnostics;
using Distributed.Models.Training;

namespace Distributed.Coordinator.Distributed;

/// <summary>The all-reduce of each step: buckets in, the step's closing out on the run's loop.</summary>
public sealed partial class DistributedRun
{
    /// <summary>Where the reduction also writes every reduced bucket (the shared-memory plane's file).</summary>
    public void MirrorReduced(IReducedMirror mirror)
    {
        lock (_gate)
        {
            _reduction.Mirror = mirror;
        }
    }

    /// <summary>Connects a member's data-plane link for the current generation.</summary>
    public void OpenStream(WorkerSlot caller, long generation, string fingerprint, IGradientLink link)
    {
        lock (_gate)
        {
            if (fingerprint != Fingerprint)
            {
                _log.LogWarning("Refused {Worker}: model fingerprint {Theirs} differs from the run's {Ours}", caller, Membership.Shorten(fingerprint), Fingerprint);
                throw new Refusal(RefusalKind.Incompatible,
                    $"Model fingerprint {Membership.Shorten(fingerprint)} does not match the run's {Fingerprint}: the worker built a different model. Run the same release everywhere.").ToException();
            }
            RequireMember(caller, generation);
            if (caller.Transport != link.Transport)
            {
                _log.LogInformation("{Worker}: gradients over {Transport}", caller, link.Transport);
                caller.Transport = link.Transport;
            }
            caller.Detach(null, membershipChanged: false);
            caller.Attach(link, generation);
            _reduction.Attach(caller.Rank, link);
        }
    }

    /// <summary>The member's stream ended (it sent its whole assignment, or the call is over): its link ends once the last reply is out.</summary>
    public void CloseStream(WorkerSlot caller, IGradientLink link)
    {
        lock (_gate)
        {
            caller.Detach(link, membershipChanged: false);
        }
        link.Close(membershipChanged: false);
    }

    /// <summary>The member's current data-plane link failed under it: the worker is dropped (a stale link's failure drops nobody).</summary>
    public void StreamBroke(WorkerSlot caller, IGradientLink link, string why)
    {
        lock (_gate)
        {
            if (caller.Link == link)
            {
                Drop(caller, $"its all-reduce stream broke ({why})");
            }
        }
    }

    /// <summary>
    /// Takes one gradient bucket (little-endian float32 or bf16 bytes, as the run's allreduce_dtype).
    /// Refuses a bucket of another generation (<see cref="RefusalKind.Stale"/>) and, dropping the sender,
    /// one of the wrong step, index, order or length, or with NaN/Inf values (<see cref="RefusalKind.InvalidData"/>).
    /// </summary>
    public void AcceptBucket(WorkerSlot caller, IGradientLink link, long generation, int step, int bucket, ReadOnlySpan<byte> data, float loss)
    {
        lock (_gate)
        {
            RequireLink(caller, link, generation);
            Accepted(caller, link, generation, step, bucket, data.Length, _reduction.Accept(caller.Rank, step, bucket, data, loss));
        }
    }

    /// <summary>Under the lock: a taken bucket's bytes, the caller's time to its last bucket, and each member's wait once the step is reduced.</summary>
    private void Measure(WorkerSlot caller, IGradientLink link, int bucket, int bytes, BucketEffect effect)
    {
        if (_metrics is null)
        {
            return;
        }
        var now = Stopwatch.GetTimestamp();
        _metrics.BucketReceived(link.Transport, bytes);
        if (bucket == _reduction.BucketCount - 1)
        {
            _metrics.RankDelivered(caller.Rank, _reduction.SinceBegan(now));
        }
        if (effect == BucketEffect.StepReduced)
        {
            var members = _membership.Members;
            for (var rank = 0; rank < members.Count; rank++)
            {
                _metrics.RankReduced(members[rank].Link?.Transport ?? link.Transport, _reduction.SinceFirstBucket(rank, now));
            }
        }
    }

    /// <summary>
    /// Takes buckets [<paramref name="first"/>, first + <paramref name="count"/>) at once from the member's
    /// shared memory (float32 <paramref name="values"/>, valid while its link is current); refused as <see cref="AcceptBucket"/>.
    /// </summary>
    public void AcceptSharedBuckets(WorkerSlot caller, IGradientLink link, long generation, int step, int first, int count, ReadOnlySpan<float> values, float loss)
    {
        lock (_gate)
        {
            // The member's link is checked before its memory is read: a dropped worker's files may be gone.
            RequireLink(caller, link, generation);
            Accepted(caller, link, generation, step, first + count - 1, values.Length * sizeof(float),
                _reduction.AcceptShared(caller.Rank, step, first, count, values, loss));
        }
    }

    private void RequireLink(WorkerSlot caller, IGradientLink link, long generation)
    {
        if (caller.Link != link || caller.LinkGeneration != generation)
        {
            throw new Refusal(RefusalKind.Stale, $"{caller} sent a bucket of generation {generation} on a stream of another (now {_membership.Generation}); ask for a new assignment.").ToException();
        }
        RequireMember(caller, generation);
    }

    /// <param name="lastBucket">The last bucket taken, and <paramref name="bytes"/> its bytes (with those before it), for metrics.</param>
    private void Accepted(WorkerSlot caller, IGradientLink link, long generation, int step, int lastBucket, int bytes, (BucketEffect Effect, string? Problem) result)
    {
        var (effect, problem) = result;
        if (problem is not null)
        {
            var message = $"{caller} sent {problem}.";
            _log.LogWarning("Refused a gradient: {Message}", message);
            Drop(caller, message);
            throw new Refusal(RefusalKind.InvalidData, message).ToException();
        }
        Measure(caller, link, lastBucket, bytes, effect);
        switch (effect)
        {
            case BucketEffect.NonFiniteLosses:
                DropNonFinite("loss");
                break;
            case BucketEffect.NonFiniteGradients:
                DropNonFinite("gradient");
                break;
            case BucketEffect.StepReduced:
                Post(() => FinishStep(generation, step));
                break;
        }
    }

    /// <summary>
    /// Members whose loss (or shared gradient) is NaN or infinite are dropped, each named in the log; the
    /// others redo the step. Only when every member's is non-finite (or none is to blame: the sum
    /// itself overflowed) has the run itself diverged.
    /// </summary>
    private void DropNonFinite(string what)
    {
        var members = _membership.Members.ToList();
        var bad = _reduction.NonFiniteRanks.Select(rank => members[rank]).ToList();
        var step = _position.Step;
        if (bad.Count == members.Count || bad.Count == 0)
        {
            var reason = bad.Count == 0
                ? $"diverged: the averaged gradient overflowed at step {step} (learning_rate {LearningRateText.Format(Config.LearningRate)})"
                : $"diverged: the {what} was not finite on every worker at step {step} (learning_rate {LearningRateText.Format(Config.LearningRate)})";
            _log.LogWarning("Stopping: {Reason}", reason);
            EndRun(interrupted: false, checkpoint: false, stoppedEarly: reason);
            return;
        }
        foreach (var member in bad)
        {
            Drop(member, $"its {what} at step {step} is not finite (NaN or infinity), unlike the others'");
        }
    }

    /// <summary>On the run's loop: the step's gradient is complete; close the step for every member (each applies it).</summary>
    private void FinishStep(long generation, int step)
    {
        lock (_gate)
        {
            if (_phase != RunPhase.Training || generation != _membership.Generation || step != _position.Step)
            {
                return;   // a member was lost after the last bucket: the survivors redo the step
            }
            var clipScale = Optimizer.ClipScaleOf(_reduction.SumOfSquares, Config.GradClip);
            var learningRate = _learningRate.At(step);
            var loss = _reduction.Loss;
            // Each member applies the step to its own replica; the coordinator takes no optimizer step
            // (its copy of the state comes from a member when needed: DistributedRun.State.cs). Every
            // member sent this step's gradient, so each held the step's state: now the next one's.
            _reduction.SendStepClosed(new StepClosed(step, learningRate, clipScale, loss));
            foreach (var member in _membership.Members)
            {
                member.StateStep = step + 1;
            }
            _initialState = false;
            var cpu = Environment.CpuUsage.TotalTime;   // no Process object per step
            (_cpuAfterFirstStep, _cpuAfterLastStep, _stepsAfterFirst) = _cpuAfterFirstStep is null ? (cpu, cpu, 0) : (_cpuAfterFirstStep, cpu, _stepsAfterFirst + 1);
            var now = Environment.TickCount64;
            _watch.End(now);
            (_intervalLoss, _intervalSteps, LastStepLoss) = (_intervalLoss + loss, _intervalSteps + 1, loss);
            var tokens = (long)Config.BatchSize * Config.MaxSequenceLength;
            _tokens += tokens;
            _position = Schedule.Advance(_position);
            _metrics?.StepClosed(new StepProgress(_position.Step, _position.Epoch, loss, learningRate, tokens));
            if (Schedule.EvaluatesAfter(_position.Step))
            {
                StartValidation(now);
            }
            else if (Schedule.ReshardsAfter(_position))
            {
                Admit(now);   // the next epoch's order is cut into new shards
            }
            else
            {
                _reduction.Begin(_position.Step, _layout, newGeneration: false);
                _watch.Begin(WaitKind.Step, now);
            }
        }
    }
}

using Distributed.Models.DataParallel;
using Distributed.Models.Runtime;
using Distributed.Models.Training;

namespace Distributed.Coordinator.Distributed;

/// <summary>The validation rounds at the step schedule's evaluations, the metrics row and checkpoint after each, and what comes next.</summary>
public sealed partial class DistributedRun
{
    private void StartValidation(long now)
    {
        _phase = RunPhase.Validating;
        _trainClock.Stop();
        _validation = new ValidationRound(_position.Step, _membership.Generation, _membership.Members, _layout,
            EvaluationWindows(_position.Step), Config.MaxSequenceLength);
        _watch.Begin(WaitKind.Validation, now);
    }

    /// <summary>The validation windows the evaluation after <paramref name="step"/> steps scores (every one, or eval_batches random batches).</summary>
    private IWindowSource EvaluationWindows(int step) => _sampler.EvaluationWindows(step, Config.EvalBatches, Config.BatchSize);

    public void ReportValidation(WorkerSlot caller, long generation, double lossSum, long tokens)
    {
        lock (_gate)
        {
            if (_phase == RunPhase.Done)
            {
                return;   // the run ended meanwhile (early stop, too few workers): nothing to add, nothing wrong
            }
            if (_validation is not { } round || round.Generation != generation)
            {
                throw new Refusal(RefusalKind.NotExpected, $"No validation of generation {generation} is expected from {caller}.").ToException();
            }
            if (round.Report(caller, lossSum, tokens) is { } refusal)
            {
                if (refusal.Kind == RefusalKind.InvalidData)
                {
                    _log.LogWarning("Refused a validation report: {Message}", refusal.Message);
                    Drop(caller, refusal.Message);
                }
                throw refusal.ToException();
            }
            if (round.IsComplete)
            {
                Post(() => FinishValidation(round));
            }
        }
    }

    /// <summary>On the run's loop, once the coordinator's copy holds the run's step: scores a lost member's share of the validation windows on it.</summary>
    private void ScoreLocally(ValidationRound round, int rank)
    {
        var windows = round.Layout.ValidationWindows(round.Windows.Count, rank);
        var tokens = (long)windows.Length * Config.MaxSequenceLength;
        WhenStateCurrent(() =>
        {
            var loss = 0.0;
            if (windows.Length > 0)
            {
                _localEvaluation ??= new GptEvaluationSession(Config, Replica.Parameters, threads: 1);
                loss = _localEvaluation.MeanLoss(new WindowSubset(round.Windows, windows));
            }
            lock (_gate)
            {
                if (_validation != round)
                {
                    return;
                }
                round.AddLocal(loss, tokens);
                if (round.IsComplete)
                {
                    Post(() => FinishValidation(round));
                }
            }
        });
    }

    /// <summary>On the run's loop: reports the validation, queues metrics and a checkpoint (of a member's state), and goes on (or ends).</summary>
    private void FinishValidation(ValidationRound round)
    {
        EvaluationReport report;
        lock (_gate)
        {
            if (_validation != round || _phase != RunPhase.Validating)
            {
                return;
            }
            _watch.End(Environment.TickCount64);
            _lastValLoss = round.MeanLoss;
            _lastTrainLoss = _intervalLoss / Math.Max(1, _intervalSteps);
            var trainSeconds = _trainClock.Elapsed.TotalSeconds;
            report = new EvaluationReport(_position.Step, _position.Epoch, _lastTrainLoss, _lastValLoss, _learningRate.At(Math.Max(0, _position.Step - 1)),
                _intervalSteps * (double)Config.BatchSize * Config.MaxSequenceLength / Math.Max(trainSeconds - _intervalStartSeconds, 1e-9));
            (_intervalLoss, _intervalSteps, _intervalStartSeconds) = (0, 0, trainSeconds);
            RequestCheckpoint(report);
        }
        Validated?.Invoke(report);
        var stopReason = StopRule?.Invoke(report);
        lock (_gate)
        {
            if (_phase == RunPhase.Done)
            {
                return;
            }
            _validation = null;
            if (Schedule.IsDone(_position) || Schedule.TimeIsUp(_priorSeconds + _trainClock.Elapsed.TotalSeconds))
            {
                EndRun(interrupted: false, checkpoint: false);
            }
            else if (stopReason is not null)
            {
                _log.LogInformation("Stopping early at step {Step}: {Reason}", _position.Step, stopReason);
                EndRun(interrupted: false, checkpoint: false, stoppedEarly: stopReason);
            }
            else
            {
                Admit(Environment.TickCount64);   // ends the run instead when too few workers are left
            }
        }
    }
}

using System.Diagnostics;
using Distributed.Models.Data;
using Distributed.Models.DataParallel;
using Distributed.Models.Gpt;
using Distributed.Models.Runtime;

namespace Distributed.Models.Training;

/// <summary>
/// Single-process training: each step takes a batch from the epoch's shuffled windows, runs it through
/// the training graph as grad_accum_steps micro-batches (<see cref="GradientAccumulation"/>), clips the
/// gradient norm and applies the optimizer at the scheduled learning rate. Every eval_interval steps,
/// and at the end, it scores the validation split (every window, or eval_batches random batches) and
/// writes a checkpoint.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly EpochSampler _sampler;
    private readonly DataParallelLayout _layout;
    private readonly GradientAccumulation _training;
    private readonly GptEvaluationSession _evaluation;
    private readonly LearningRateSchedule _learningRate;
    private Rng _rng;

    /// <param name="config">A validated config whose vocab_size is the tokenizer's.</param>
    public Trainer(GptConfig config, EpochSampler sampler, int threads)
    {
        Config = config;
        _sampler = sampler;
        Replica = new ModelReplica(config);
        Schedule = new StepSchedule(config, sampler.StepsPerEpoch(config.BatchSize));
        _learningRate = new LearningRateSchedule(config.LearningRate, config.MinLearningRate, config.WarmupSteps, Schedule.TotalSteps);
        _rng = new Rng(DerivedSeed.For(config.Seed, DropoutPurpose, 0));
        State = new TrainingState { RngState = _rng.State };
        _layout = new DataParallelLayout(1, config.BatchSize, config.GradAccumSteps);   // one process is a world of one
        // One process training alone owns its cores, so ORT's threads may spin-wait (see SessionFactory).
        _training = new GradientAccumulation(config, Replica, _layout.MicroBatchOf(0), threads, spinWait: true);
        try
        {
            _evaluation = new GptEvaluationSession(config, Replica.Parameters, threads, spinWait: true);
        }
        catch
        {
            _training.Dispose();
            throw;
        }
    }

    // Names the dropout-mask stream so it differs from the init and data-order streams of the same seed.
    private const ulong DropoutPurpose = 0x44_52_4F_50_4F_55_54_53; // "DROPOUTS"

    public GptConfig Config { get; }

    public ModelReplica Replica { get; }

    public TrainingState State { get; private set; }

    public StepSchedule Schedule { get; }

    public int TotalSteps => Schedule.TotalSteps;

    /// <summary>Continues from a checkpoint's position (its tensors are already in <see cref="Replica"/>).</summary>
    public void Restore(TrainingState state)
    {
        State = state;
        _rng = Rng.FromState(state.RngState);
    }

    /// <summary>Mean loss with the current parameters over the validation windows of the evaluation after <paramref name="step"/> steps (eval_batches).</summary>
    public double ValidationLoss(int step) => _evaluation.MeanLoss(_sampler.EvaluationWindows(step, Config.EvalBatches, Config.BatchSize));

    /// <summary>
    /// Trains until the last step or until <paramref name="cancel"/> fires (then stops between two
    /// steps); <paramref name="checkpoint"/> is called at every evaluation and when interrupted.
    /// </summary>
    public RunSummary Run(ITrainingObserver observer, Action checkpoint, CancellationToken cancel = default)
    {
        var batch = Config.BatchSize;
        var tokensPerStep = (long)batch * Config.MaxSequenceLength;
        var windows = new int[batch];
        var position = new SchedulePosition(State.Step, State.Epoch, State.BatchInEpoch);
        var order = _sampler.EpochOrder(position.Epoch);
        var epochWindows = _sampler.EpochWindows(position.Epoch);
        var orderEpoch = position.Epoch;
        var (seconds, tokens) = (State.Seconds, State.Tokens);
        double intervalLoss = 0, intervalSeconds = 0, lastTrainLoss = double.NaN, lastValLoss = double.NaN;
        var intervalSteps = 0;
        var stopwatch = new Stopwatch();
        var interrupted = false;

        while (!Schedule.IsDone(position))
        {
            if (cancel.IsCancellationRequested)
            {
                interrupted = true;
                break;
            }
            stopwatch.Restart();
            if (orderEpoch != position.Epoch)
            {
                (order, epochWindows, orderEpoch) = (_sampler.EpochOrder(position.Epoch), _sampler.EpochWindows(position.Epoch), position.Epoch);
            }
            _layout.TrainWindows(order, position.StepInEpoch, rank: 0, windows);
            var loss = _training.ComputeGradients(_layout, rank: 0, epochWindows, windows, _rng);
            if (!float.IsFinite(loss))
            {
                throw new TrainingDivergedException(position.Step, loss, Config.LearningRate);
            }
            var learningRate = _learningRate.At(position.Step);
            Replica.Apply(Optimizer.ClipScale(Replica.Gradients, Config.GradClip), learningRate);
            position = Schedule.Advance(position);
            var elapsed = stopwatch.Elapsed.TotalSeconds;
            (seconds, tokens) = (seconds + elapsed, tokens + tokensPerStep);
            (intervalLoss, intervalSeconds, intervalSteps) = (intervalLoss + loss, intervalSeconds + elapsed, intervalSteps + 1);
            observer.OnStep(new StepReport(position.Step, TotalSteps, position.Epoch, loss, learningRate, tokensPerStep / elapsed));

            if (Schedule.EvaluatesAfter(position.Step))
            {
                lastTrainLoss = intervalLoss / intervalSteps;
                lastValLoss = ValidationLoss(position.Step);
                var rate = intervalSteps * tokensPerStep / intervalSeconds;
                (intervalLoss, intervalSeconds, intervalSteps) = (0, 0, 0);
                SaveState(position, seconds, tokens);
                checkpoint();
                observer.OnEvaluation(new EvaluationReport(position.Step, position.Epoch, lastTrainLoss, lastValLoss, learningRate, rate));
                if (Schedule.TimeIsUp(seconds))
                {
                    break;
                }
            }
        }
        SaveState(position, seconds, tokens);
        if (interrupted)
        {
            checkpoint();
        }
        return new RunSummary(lastValLoss, lastTrainLoss, tokens / Math.Max(seconds, 1e-9), seconds, position.Step, Replica.Layout.TotalLength, interrupted);
    }

    private void SaveState(SchedulePosition position, double seconds, long tokens)
        => State = new TrainingState
        {
            Step = position.Step, Epoch = position.Epoch, BatchInEpoch = position.StepInEpoch, RngState = _rng.State, Seconds = seconds, Tokens = tokens,
        };

    public void Dispose()
    {
        _evaluation.Dispose();
        _training.Dispose();
    }
}

/// <summary>The loss became NaN or infinite: the run cannot continue.</summary>
public sealed class TrainingDivergedException(int step, float loss, double learningRate)
    : Exception($"Training diverged at step {step}: the loss is {loss}. Lower learning_rate (now {LearningRateText.Format(learningRate)}) or set grad_clip (e.g. 1.0).")
{
    public int Step { get; } = step;
}

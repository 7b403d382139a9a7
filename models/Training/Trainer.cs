using System.Diagnostics;
using Distributed.Models.Data;
using Distributed.Models.Gpt;
using Distributed.Models.Runtime;

namespace Distributed.Models.Training;

/// <summary>
/// Single-process training: each step fills a batch from the epoch's shuffled windows, runs the
/// training graph (loss and gradients, in place), clips the gradient norm and applies the optimizer
/// at the scheduled learning rate. Every eval_interval steps, and at the end, it scores the whole
/// validation split and writes a checkpoint.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly EpochSampler _sampler;
    private readonly GptTrainingSession _training;
    private readonly GptEvaluationSession _evaluation;
    private readonly LearningRateSchedule _schedule;
    private readonly int _stepsPerEpoch;
    private Rng _rng;

    /// <param name="config">A validated config whose vocab_size is the tokenizer's.</param>
    public Trainer(GptConfig config, EpochSampler sampler, int threads)
    {
        Config = config;
        _sampler = sampler;
        Replica = new ModelReplica(config);
        _stepsPerEpoch = sampler.StepsPerEpoch(config.BatchSize);
        TotalSteps = StepBudget.Total(config, _stepsPerEpoch);
        _schedule = new LearningRateSchedule(config.LearningRate, config.MinLearningRate, config.WarmupSteps, TotalSteps);
        _rng = new Rng(DerivedSeed.For(config.Seed, DropoutPurpose, 0));
        State = new TrainingState { RngState = _rng.State };
        // One process training alone owns its cores, so ORT's threads may spin-wait (see SessionFactory).
        _training = new GptTrainingSession(config, Replica.Parameters, Replica.Gradients, threads, spinWait: true);
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

    public int TotalSteps { get; }

    /// <summary>Continues from a checkpoint's position (its tensors are already in <see cref="Replica"/>).</summary>
    public void Restore(TrainingState state)
    {
        State = state;
        _rng = Rng.FromState(state.RngState);
    }

    /// <summary>Mean loss over every validation window with the current parameters.</summary>
    public double ValidationLoss() => _evaluation.MeanLoss(_sampler.Validation);

    /// <summary>
    /// Trains until the last step or until <paramref name="cancel"/> fires (then stops between two
    /// steps); <paramref name="checkpoint"/> is called at every evaluation and when interrupted.
    /// </summary>
    public RunSummary Run(ITrainingObserver observer, Action checkpoint, CancellationToken cancel = default)
    {
        var batch = Config.BatchSize;
        var tokensPerStep = (long)batch * Config.MaxSequenceLength;
        var order = _sampler.EpochOrder(State.Epoch);
        var offset = _sampler.EpochOffset(State.Epoch);
        var orderEpoch = State.Epoch;
        var (step, epoch, position) = (State.Step, State.Epoch, State.BatchInEpoch);
        var (seconds, tokens) = (State.Seconds, State.Tokens);
        double intervalLoss = 0, intervalSeconds = 0, lastTrainLoss = double.NaN, lastValLoss = double.NaN;
        var intervalSteps = 0;
        var stopwatch = new Stopwatch();
        var interrupted = false;

        while (step < TotalSteps)
        {
            if (cancel.IsCancellationRequested)
            {
                interrupted = true;
                break;
            }
            stopwatch.Restart();
            if (orderEpoch != epoch)
            {
                (order, offset, orderEpoch) = (_sampler.EpochOrder(epoch), _sampler.EpochOffset(epoch), epoch);
            }
            _sampler.FillBatch(DataSplit.Train, order.AsSpan(position * batch, batch), _training.Inputs, _training.Targets, offset);
            var loss = _training.ComputeGradients(_rng);
            if (!float.IsFinite(loss))
            {
                throw new TrainingDivergedException(step, loss, Config.LearningRate);
            }
            var learningRate = _schedule.At(step);
            Replica.Apply(Optimizer.ClipScale(Replica.Gradients, Config.GradClip), learningRate);
            step++;
            if (++position == _stepsPerEpoch)
            {
                (epoch, position) = (epoch + 1, 0);
            }
            var elapsed = stopwatch.Elapsed.TotalSeconds;
            (seconds, tokens) = (seconds + elapsed, tokens + tokensPerStep);
            (intervalLoss, intervalSeconds, intervalSteps) = (intervalLoss + loss, intervalSeconds + elapsed, intervalSteps + 1);
            observer.OnStep(new StepReport(step, TotalSteps, epoch, loss, learningRate, tokensPerStep / elapsed));

            if (step % Config.EvalInterval == 0 || step == TotalSteps)
            {
                lastTrainLoss = intervalLoss / intervalSteps;
                lastValLoss = ValidationLoss();
                var rate = intervalSteps * tokensPerStep / intervalSeconds;
                (intervalLoss, intervalSeconds, intervalSteps) = (0, 0, 0);
                SaveState(step, epoch, position, seconds, tokens);
                checkpoint();
                observer.OnEvaluation(new EvaluationReport(step, epoch, lastTrainLoss, lastValLoss, learningRate, rate));
                if (TimeBudget.IsSpent(Config, seconds))
                {
                    break;
                }
            }
        }
        SaveState(step, epoch, position, seconds, tokens);
        if (interrupted)
        {
            checkpoint();
        }
        return new RunSummary(lastValLoss, lastTrainLoss, tokens / Math.Max(seconds, 1e-9), seconds, step, Replica.Layout.TotalLength, interrupted);
    }

    private void SaveState(int step, int epoch, int position, double seconds, long tokens)
        => State = new TrainingState
        {
            Step = step, Epoch = epoch, BatchInEpoch = position, RngState = _rng.State, Seconds = seconds, Tokens = tokens,
        };

    public void Dispose()
    {
        _evaluation.Dispose();
        _training.Dispose();
    }
}

/// <summary>The loss became NaN or infinite: the run cannot continue.</summary>
public sealed class TrainingDivergedException(int step, float loss, double learningRate)
    : Exception($"Training diverged at step {step}: the loss is {loss}. Lower learning_rate (now {learningRate:G3}) or set grad_clip (e.g. 1.0).")
{
    public int Step { get; } = step;
}

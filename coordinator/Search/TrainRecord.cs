using System.Diagnostics;
using Distributed.Models.Experiments;
using Distributed.Models.Training;

namespace Distributed.Coordinator.Search;

/// <summary>
/// A `train` run in the experiment store (&lt;out&gt;/experiments.db): a run of kind "train" with one
/// trial, its evaluations and its outcome, listed by `runs` next to sweeps.
/// </summary>
public sealed class TrainRecord : IDisposable
{
    private readonly ExperimentStore _store;
    private readonly long _runId;
    private readonly long _trialId;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public TrainRecord(TrainingJobOptions options)
    {
        Directory.CreateDirectory(options.OutputDirectory);
        _store = ExperimentStore.Open(Path.Combine(options.OutputDirectory, ExperimentStore.DefaultFileName));
        var folder = Path.GetFullPath(options.OutputDirectory);
        var previous = options.ResumeDirectory is null ? null : _store.LatestRun(folder, RunKind.Train);
        if (previous is not null)
        {
            _store.ResumeRun(previous.Id);
        }
        _runId = previous?.Id ?? _store.CreateRun(RunKind.Train, Path.GetFileName(folder), folder,
            options.ConfigPath is { } path ? File.ReadAllText(path) : "{}");
        // A resumed run that had already finished (continued with a larger max_steps) gets a new trial.
        var trials = _store.Trials(_runId);
        var index = trials.Count > 0 && TrialStatus.IsDone(trials[^1].Status) ? trials.Count : Math.Max(0, trials.Count - 1);
        _trialId = _store.AddTrial(_runId, index, "{}", "{}");
        _store.StartTrial(_trialId);
    }

    public ITrainingObserver Observe(ITrainingObserver inner) => new EvaluationRecorder(_store, _trialId, inner);

    public void Finish(RunSummary? summary, string outputDirectory)
    {
        if (summary is null)
        {
            _store.FinishTrial(_trialId, TrialStatus.Failed, "the run failed; see its output", null, null);
            _store.FinishRun(_runId, RunStatus.Failed, _clock.Elapsed.TotalSeconds);
        }
        else if (summary.Interrupted)
        {
            _store.FinishRun(_runId, RunStatus.Interrupted, _clock.Elapsed.TotalSeconds);
        }
        else
        {
            _store.FinishTrial(_trialId, TrialStatus.Completed, null, summary.ValLoss, Path.GetFullPath(outputDirectory));
            _store.FinishRun(_runId, RunStatus.Completed, _clock.Elapsed.TotalSeconds);
        }
    }

    public void Dispose() => _store.Dispose();
}

using Distributed.Models.Experiments;
using Distributed.Models.Training;

namespace Distributed.Coordinator.Search;

/// <summary>Records every evaluation of a trial in the experiment store, then passes it on.</summary>
public sealed class EvaluationRecorder(ExperimentStore store, long trialId, ITrainingObserver inner) : ITrainingObserver
{
    public void OnStep(StepReport report) => inner.OnStep(report);

    public void OnEvaluation(EvaluationReport report)
    {
        store.RecordEvaluation(trialId, new EvaluationRow(report.Step, report.Epoch, report.TrainLoss, report.ValLoss, report.LearningRate, report.TokensPerSecond));
        inner.OnEvaluation(report);
    }
}

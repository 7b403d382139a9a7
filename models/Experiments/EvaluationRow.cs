namespace Distributed.Models.Experiments;

/// <summary>One evaluation of a trial, the same fields as a line of metrics.jsonl. Losses may be NaN (a diverged run).</summary>
public sealed record EvaluationRow(int Step, int Epoch, double TrainLoss, double ValLoss, double LearningRate, double TokensPerSecond);

using Distributed.Models.Training;
using Spectre.Console;

namespace Distributed.Coordinator.Commands;

/// <summary>A Spectre.Console progress bar fed by the trainer's step reports, and a table row per evaluation.</summary>
public sealed class ProgressDisplay : ITrainingObserver
{
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(200);

    private readonly ProgressTask _task;
    private readonly System.Diagnostics.Stopwatch _sinceRefresh = System.Diagnostics.Stopwatch.StartNew();
    private double _tokensPerSecond;

    private ProgressDisplay(ProgressTask task) => _task = task;

    public static RunSummary Run(Func<ITrainingObserver, RunSummary> train)
        => AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context => train(new ProgressDisplay(context.AddTask("starting", maxValue: 1))));

    public void OnStep(StepReport report)
    {
        _tokensPerSecond = _tokensPerSecond == 0 ? report.TokensPerSecond : 0.95 * _tokensPerSecond + 0.05 * report.TokensPerSecond;
        // Formatting the line allocates; the screen refreshes a few times a second anyway.
        if (_sinceRefresh.Elapsed < RefreshInterval && report.Step != report.TotalSteps)
        {
            return;
        }
        _sinceRefresh.Restart();
        _task.MaxValue = report.TotalSteps;
        _task.Value = report.Step;
        _task.Description = $"step {report.Step}/{report.TotalSteps}  loss {report.Loss:F4}  {_tokensPerSecond:N0} tok/s";
    }

    public void OnEvaluation(EvaluationReport report)
        => TerminalLog.Markup(Markup.Escape(
            $"step {report.Step,6}  epoch {report.Epoch,3}  train loss {report.TrainLoss:F4}  val loss ") + $"[green]{report.ValLoss:F4}[/]" + Markup.Escape($"  perplexity {report.ValPerplexity:F2}  lr {LearningRateText.Format(report.LearningRate)}  {report.TokensPerSecond:N0} tok/s"));
}

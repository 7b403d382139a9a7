using Distributed.Models.Training;
using Distributed.Tests.Checkpoints;

namespace Distributed.Tests.Training;

/// <summary>
/// A loss that is not known yet is JSON null, so metrics.jsonl and summary.json stay readable by any JSON tool;
/// a resumed run's metrics.jsonl has one row per evaluation.
/// </summary>
public sealed class MetricsJsonTests
{
    [Fact]
    public void An_evaluation_whose_validation_could_not_be_scored_is_logged_as_null_and_reads_back()
    {
        using var temp = new TempDirectory();

        MetricsLog.Append(temp.Path, new EvaluationReport(Step: 10, Epoch: 0, TrainLoss: 2.5, ValLoss: double.NaN, LearningRate: 1e-3, TokensPerSecond: 1000));

        var line = File.ReadAllText(temp.File(MetricsLog.FileName));
        Assert.Contains("\"val_loss\":null", line);
        Assert.Contains("\"val_perplexity\":null", line);
        var read = MetricsLog.Read(temp.Path).Single();
        Assert.True(double.IsNaN(read.ValLoss));
        Assert.Equal(2.5, read.TrainLoss);
    }

    [Fact]
    public void Resuming_from_a_checkpoint_drops_the_rows_of_the_steps_it_trains_again()
    {
        using var temp = new TempDirectory();
        foreach (var step in new[] { 20, 40, 60 })
        {
            MetricsLog.Append(temp.Path, new EvaluationReport(step, 0, 2.0, 2.1, 1e-3, 1000));
        }

        MetricsLog.DropAfter(temp.Path, 40);
        MetricsLog.Append(temp.Path, new EvaluationReport(60, 0, 1.9, 2.0, 1e-3, 1000));

        Assert.Equal([(20, 2.1), (40, 2.1), (60, 2.0)], MetricsLog.Read(temp.Path).Select(r => (r.Step, r.ValLoss)));
    }

    [Fact]
    public void A_last_row_cut_short_by_a_kill_is_dropped_on_resume_not_a_crash()
    {
        using var temp = new TempDirectory();
        MetricsLog.Append(temp.Path, new EvaluationReport(20, 0, 2.0, 2.1, 1e-3, 1000));
        File.AppendAllText(Path.Combine(temp.Path, MetricsLog.FileName), """{"step":40,"epoch":0,"train_lo""");

        MetricsLog.DropAfter(temp.Path, 40);

        Assert.Equal([20], MetricsLog.Read(temp.Path).Select(r => r.Step));
    }
}

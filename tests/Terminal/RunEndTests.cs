using Distributed.Coordinator.Commands;
using Distributed.Coordinator.Reports;
using Distributed.Models;
using Distributed.Models.Checkpoints;
using Distributed.Models.Training;
using Distributed.Tests.Checkpoints;
using Distributed.Tests.Reports;
using Spectre.Console;

namespace Distributed.Tests.Terminal;

/// <summary>The end of `train` and `serve`: where the checkpoint is, how to go on from it, and the loss chart.</summary>
public sealed class RunEndTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static RunSummary Summary(int steps, bool interrupted) => new(1.5, 1.6, 1000, 12.3, steps, 100, interrupted);

    private TrainingJobOptions Job(string data = "tinyshakespeare") => new() { Data = data, OutputDirectory = _temp.Path };

    private void WriteCheckpoint() => File.WriteAllText(_temp.File(CheckpointStore.ManifestFile), "{}");

    private static string Plain(IEnumerable<string> lines) => string.Join("\n", lines.Select(Markup.Remove));

    [Fact]
    public void A_stopped_run_says_where_its_checkpoint_is_and_how_to_resume()
    {
        WriteCheckpoint();

        var text = Plain(TrainingRun.Closing(Summary(120, interrupted: true), new GptConfig { MaxSteps = 2000 }, Job(), "train", "SIGTERM", null));

        Assert.Contains("Interrupted (SIGTERM): step 120", text);
        Assert.Contains($"Checkpoint (step 120): {_temp.Path}", text);
        Assert.Contains($"Resume with: train --resume {_temp.Path}", text);
        Assert.DoesNotContain("--data", text);
    }

    [Fact]
    public void A_finished_run_says_how_to_train_further_and_names_data_that_is_not_the_default()
    {
        WriteCheckpoint();

        var byMaxSteps = Plain(TrainingRun.Closing(Summary(2000, interrupted: false), new GptConfig { MaxSteps = 2000 }, Job("input.txt"), "serve", null, _temp.File("loss_curves.png")));
        var byEpochs = Plain(TrainingRun.Closing(Summary(700, interrupted: false), new GptConfig { MaxSteps = 0, NumEpochs = 2 }, Job(), "train", null, null));

        Assert.Contains($"loss chart: {_temp.File("loss_curves.png")}", byMaxSteps);
        Assert.Contains($"Train further with: serve --resume {_temp.Path} --data input.txt --set max_steps=4000", byMaxSteps);
        Assert.Contains($"sample --checkpoint {_temp.Path}", byMaxSteps);
        Assert.Contains("--set num_epochs=3", byEpochs);
    }

    [Fact]
    public void A_run_stopped_before_its_first_checkpoint_says_so()
    {
        var text = Plain(TrainingRun.Closing(Summary(0, interrupted: true), new GptConfig(), Job(), "train", null, null));

        Assert.Contains("No checkpoint was written", text);
        Assert.DoesNotContain("--resume", text);
    }

    [Fact]
    public void A_run_draws_its_loss_curves_from_metrics_jsonl()
    {
        Assert.Null(TrainingRun.WriteLossChart(_temp.Path));   // no evaluation yet: no chart

        for (var step = 100; step <= 500; step += 100)
        {
            MetricsLog.Append(_temp.Path, new EvaluationReport(step, 0, 4.0 - step / 200.0, 4.1 - step / 210.0, 1e-3, 5000));
        }
        var chart = TrainingRun.WriteLossChart(_temp.Path);

        Assert.Equal(_temp.File(LossCurvesChart.FileName), chart);
        var png = File.ReadAllBytes(chart!);
        Assert.Equal(Png.Signature, png[..8]);
        Assert.Equal((ChartFile.Width, ChartFile.Height), Png.Size(png));
        // Both lines drawn: train in the first Category10 colour, validation in the second.
        Assert.True(Png.CountColor(png, "#1f77b4") > 500, "no train loss line");
        Assert.True(Png.CountColor(png, "#ff7f0e") > 500, "no validation loss line");
    }
}

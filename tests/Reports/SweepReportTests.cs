using Distributed.Coordinator.Reports;
using Distributed.Models.Experiments;
using Distributed.Tests.Checkpoints;
using Spectre.Console;

namespace Distributed.Tests.Reports;

public sealed class SweepReportTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly StringWriter _terminal = new();

    public void Dispose() => _temp.Dispose();

    private IReadOnlyList<string> WriteReport(IReadOnlyList<TrialResult> trials)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(_terminal),
        });
        console.Profile.Width = 200;
        return SweepReport.Write(_temp.Path, trials, SyntheticSweep.Fields, console);
    }

    [Fact]
    public void WritesRankedQuotedCsvAndChartsAndReturnsTheirPaths()
    {
        var files = WriteReport(SyntheticSweep.FourTrials());

        Assert.Equal(
            ["results.csv", "loss_curves.png", "val_loss_vs_learning_rate.png", "val_loss_vs_n_layer.png", "val_loss_vs_activation.png"],
            files.Select(Path.GetFileName));
        Assert.All(files, f => Assert.Equal(_temp.Path, Path.GetDirectoryName(f)));
        // Only the report's files: no temporaries left behind by the atomic writes.
        Assert.Equal(files.Order(), Directory.GetFiles(_temp.Path).Order());

        var csv = File.ReadAllText(files[0]);
        Assert.Equal(
            "rank,trial,learning_rate,n_layer,activation,status,reason,best_val_loss,final_val_loss,seconds\r\n" +
            "1,2,0.001,4,gelu,completed,,1.55,1.57,41\r\n" +
            "2,3,0.0003,2,relu,stopped_early,\"no \"\"improvement\"\" for 3 evals\",1.7,1.74,22\r\n" +
            "3,0,0.0001,2,gelu,completed,,1.9,1.92,30.5\r\n" +
            ",1,0.003,4,relu,failed,\"loss is NaN, step 40\",,,12.25\r\n",
            csv);

        foreach (var png in files.Skip(1))
        {
            var bytes = File.ReadAllBytes(png);
            Assert.Equal(Png.Signature, bytes[..8]);
            Assert.Equal((ChartFile.Width, ChartFile.Height), Png.Size(bytes));
            // A blank 1000x600 canvas compresses to a few kB; axes, text and data take it well past.
            Assert.True(bytes.Length > 20_000, $"{Path.GetFileName(png)} is only {bytes.Length} bytes");
        }

        // The data is drawn, not just the frame: a line per trial in its Category10 colour (far
        // more pixels than its legend swatch), and the best trial's marker on each field chart.
        var curves = File.ReadAllBytes(files[1]);
        foreach (var color in (string[])["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"])
            Assert.True(Png.CountColor(curves, color) > 500, $"loss_curves.png has too little {color}");
        foreach (var chart in files.Skip(2))
            Assert.True(Png.CountColor(File.ReadAllBytes(chart), "#ff4500") > 100, $"{Path.GetFileName(chart)} has no best-trial marker");
    }

    [Fact]
    public void PrintsTheTableBestFirstAndTheReasonsBelowIt()
    {
        WriteReport(SyntheticSweep.FourTrials());
        var lines = _terminal.ToString().Split('\n');

        var rows = lines.Where(l => !l.TrimStart().StartsWith("trial ") && (l.Contains("completed") || l.Contains("failed") || l.Contains("stopped_early"))).ToList();
        Assert.Equal(4, rows.Count);
        Assert.Contains("1.5500", rows[0]);
        Assert.Contains("stopped_early", rows[1]);
        Assert.Contains("failed", rows[3]);
        // Reasons are listed under the table, one line per trial that has one.
        var belowTable = lines[(Array.IndexOf(lines, rows[3]) + 1)..];
        Assert.Contains(belowTable, l => l.Contains("stopped_early: no \"improvement\" for 3 evals"));
        Assert.Contains(belowTable, l => l.Contains("failed: loss is NaN, step 40"));
        Assert.Contains(lines, l => l.Contains("learning_rate") && l.Contains("best val"));
    }

    [Fact]
    public void AnEmptySweepStillWritesEveryFile()
    {
        var files = WriteReport([]);

        Assert.Equal(5, files.Count);
        Assert.Equal("rank,trial,learning_rate,n_layer,activation,status,reason,best_val_loss,final_val_loss,seconds\r\n", File.ReadAllText(files[0]));
        Assert.All(files.Skip(1), f => Assert.Equal(Png.Signature, File.ReadAllBytes(f)[..8]));
        // Nothing drawn in a trial colour: the colour checks above do tell data from an empty frame.
        Assert.Equal(0, Png.CountColor(File.ReadAllBytes(files[1]), "#1f77b4"));
        Assert.Equal(0, Png.CountColor(File.ReadAllBytes(files[2]), "#ff4500"));
    }

    [Fact]
    public void AFieldEveryTrialGaveTheSameValueGetsNoChart()
    {
        var trials = SyntheticSweep.FourTrials().Select(t => t with { Params = new Dictionary<string, object>(t.Params) { ["n_layer"] = 4L } }).ToList();
        File.WriteAllText(Path.Combine(_temp.Path, "val_loss_vs_n_layer.png"), "left from an earlier report");

        var files = WriteReport(trials);

        Assert.Equal(["results.csv", "loss_curves.png", "val_loss_vs_learning_rate.png", "val_loss_vs_activation.png"], files.Select(Path.GetFileName));
        Assert.False(File.Exists(Path.Combine(_temp.Path, "val_loss_vs_n_layer.png")));
        Assert.Contains("No val_loss_vs_n_layer.png: every trial used n_layer=4.", _terminal.ToString());
    }

    [Fact]
    public void LegendsNameEachTrialsHyperparametersAndHowItEnded()
    {
        var trials = SyntheticSweep.FourTrials();

        Assert.Equal("trial 2: learning_rate=1e-03 n_layer=4 activation=gelu", LossCurvesChart.Label(trials[2]));
        Assert.Equal("trial 3: learning_rate=3e-04 n_layer=2 activation=relu (stopped early)", LossCurvesChart.Label(trials[3]));
        Assert.EndsWith("(failed)", LossCurvesChart.Label(trials[1]));
        Assert.EndsWith("(interrupted)", LossCurvesChart.Label(trials[0] with { Status = TrialStatus.Running }));
    }

    [Fact]
    public void ALogUniformFieldIsChartedOnALogAxisHoweverNarrowItsDraws()
    {
        object[] draws = [2e-4, 3.5e-4, 5e-4];

        Assert.Equal(FieldAxisKind.Linear, FieldAxis.For("learning_rate", draws).Kind);
        var axis = FieldAxis.For("learning_rate", draws, logScale: true);
        Assert.Equal(FieldAxisKind.Log, axis.Kind);
        Assert.Equal("learning_rate (log scale)", axis.Label);
        Assert.Contains("3e-4", axis.Ticks!.Value.Labels);
        // The limits leave room around the draws.
        Assert.True(axis.Limits!.Value.Min < Math.Log10(2e-4) && axis.Limits.Value.Max > Math.Log10(5e-4));

        var narrow = SyntheticSweep.FourTrials().Select((t, i) => t with { Params = new Dictionary<string, object>(t.Params) { ["learning_rate"] = draws[i % 3] } }).ToList();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, Out = new AnsiConsoleOutput(_terminal) });
        var files = SweepReport.Write(_temp.Path, narrow, SyntheticSweep.Fields, console, logScaleFields: ["learning_rate"]);
        Assert.Contains(files, f => Path.GetFileName(f) == "val_loss_vs_learning_rate.png");
    }
}

using Distributed.Models.Experiments;
using ScottPlot;

namespace Distributed.Coordinator.Reports;

/// <summary>
/// loss_curves.png: every trial's train loss (dashed) and validation loss (solid) against step,
/// one colour per trial.
/// </summary>
public static class LossCurvesChart
{
    public const string FileName = "loss_curves.png";

    public static void Write(string path, IReadOnlyList<RankedTrial> ranked)
    {
        var plot = new Plot();
        plot.Title("Training curves: train loss (dashed), validation loss (solid)");
        plot.XLabel("step");
        plot.YLabel("loss");

        // Colours follow trial number, not rank, so "trial 3" has the same colour in every chart.
        var trials = ranked.Select(r => r.Trial).Where(t => t.Curve.Count > 0).OrderBy(t => t.Index).ToList();
        for (var i = 0; i < trials.Count; i++)
        {
            var trial = trials[i];
            var color = ChartFile.TrialColor(i, trials.Count);
            AddLine(plot, trial.Curve, p => p.TrainLoss, color, LinePattern.Dashed);
            AddLine(plot, trial.Curve, p => p.ValLoss, color, LinePattern.Solid);
        }

        if (trials.Count == 0)
        {
            ChartFile.AddEmptyNote(plot, "no trial has recorded a loss curve yet");
        }
        else
        {
            // The legend is built by hand: one entry per trial (not two, for its two lines), then
            // the two line styles in black. ScottPlot shows only manual items once there are any.
            // Only the values that tell the trials apart: one every trial shares would just lengthen each entry.
            var varying = trials.SelectMany(t => t.Params.Keys).Distinct()
                .Where(f => trials.Select(t => ParamValue.ToInvariantString(t.Params.GetValueOrDefault(f))).Distinct().Count() > 1).ToList();
            for (var i = 0; i < trials.Count; i++)
                plot.Legend.ManualItems.Add(new LegendItem { LabelText = Label(trials[i], varying), LineColor = ChartFile.TrialColor(i, trials.Count), LineWidth = 3 });
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = "train", LineColor = Colors.Black, LinePattern = LinePattern.Dashed, LineWidth = 2 });
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = "validation", LineColor = Colors.Black, LinePattern = LinePattern.Solid, LineWidth = 2 });
            // The default symbol is too short to show a dash gap, which would leave "train" and
            // "validation" looking alike.
            plot.Legend.SymbolWidth = 40;
            // Outside the data area: loss curves fill the whole frame (high on the left, low on the
            // right), so a legend anywhere inside it would cover some of them. Below it, in rows: the
            // entries name hyperparameters, and a column of them on the right would squeeze the curves.
            plot.Legend.Orientation = Orientation.Horizontal;
            plot.ShowLegend(Edge.Bottom);
        }
        ChartFile.SavePng(plot, path);
    }

    /// <summary>A trial's legend entry: its number, its hyperparameters (those of <paramref name="fields"/>; null: all), and how it ended when it did not complete.</summary>
    public static string Label(TrialResult trial, IReadOnlyCollection<string>? fields = null)
    {
        IReadOnlyDictionary<string, object> shown = fields is null ? trial.Params : trial.Params.Where(p => fields.Contains(p.Key)).ToDictionary();
        var ending = trial.Status switch
        {
            TrialStatus.StoppedEarly => " (stopped early)",
            TrialStatus.Failed => " (failed)",
            TrialStatus.Running => " (interrupted)",
            TrialStatus.Pending => " (not run)",
            _ => "",
        };
        return shown.Count == 0 ? $"trial {trial.Index}{ending}" : $"trial {trial.Index}: {Describe(shown)}{ending}";
    }

    /// <summary>Swept values as "learning_rate=3.162e-04 n_layer=4".</summary>
    public static string Describe(IReadOnlyDictionary<string, object> parameters) =>
        string.Join(" ", parameters.Select(p => $"{p.Key}={ParamValue.ToDisplayString(p.Value)}"));

    /// <summary>
    /// One run's loss_curves.png (`train`, `serve`): train loss (dashed) and validation loss (solid)
    /// against step, from its metrics.jsonl.
    /// </summary>
    public static void WriteRun(string path, string title, IReadOnlyList<CurvePoint> curve)
    {
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("loss");
        var (train, validation) = (ChartFile.TrialColor(0, 2), ChartFile.TrialColor(1, 2));
        AddLine(plot, curve, p => p.TrainLoss, train, LinePattern.Dashed);
        AddLine(plot, curve, p => p.ValLoss, validation, LinePattern.Solid);
        if (!curve.Any(p => double.IsFinite(p.TrainLoss) || double.IsFinite(p.ValLoss)))
        {
            ChartFile.AddEmptyNote(plot, "no evaluation has recorded a loss yet");
        }
        else
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = "train loss (mean since the previous evaluation)", LineColor = train, LinePattern = LinePattern.Dashed, LineWidth = 2 });
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = "validation loss", LineColor = validation, LinePattern = LinePattern.Solid, LineWidth = 2 });
            plot.Legend.SymbolWidth = 40;
            // Loss falls from the upper left: the upper right is where the curves are not.
            plot.ShowLegend(Alignment.UpperRight);
        }
        ChartFile.SavePng(plot, path);
    }

    private static void AddLine(Plot plot, IReadOnlyList<CurvePoint> curve, Func<CurvePoint, double> loss,
        Color color, LinePattern pattern)
    {
        // A diverged or not-yet-evaluated point is NaN/infinite; it would break autoscaling.
        var points = curve.Where(p => double.IsFinite(loss(p))).OrderBy(p => p.Step).ToList();
        if (points.Count == 0) return;
        var line = plot.Add.Scatter(points.Select(p => (double)p.Step).ToArray(), points.Select(loss).ToArray(), color);
        line.LinePattern = pattern;
        line.LineWidth = 2;
        // A single evaluation has no line to draw; a marker keeps it visible.
        line.MarkerSize = points.Count == 1 ? 6 : 0;
    }
}

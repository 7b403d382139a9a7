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
            for (var i = 0; i < trials.Count; i++)
                plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"trial {trials[i].Index}", LineColor = ChartFile.TrialColor(i, trials.Count), LineWidth = 3 });
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = "train", LineColor = Colors.Black, LinePattern = LinePattern.Dashed, LineWidth = 2 });
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = "validation", LineColor = Colors.Black, LinePattern = LinePattern.Solid, LineWidth = 2 });
            // The default symbol is too short to show a dash gap, which would leave "train" and
            // "validation" looking alike.
            plot.Legend.SymbolWidth = 40;
            // Outside the data area: loss curves fill the whole frame (high on the left, low on the
            // right), so a legend anywhere inside it would cover some of them.
            plot.ShowLegend(Edge.Right);
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

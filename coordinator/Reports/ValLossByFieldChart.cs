using System.Globalization;
using System.Text;
using Distributed.Models.Experiments;
using ScottPlot;

namespace Distributed.Coordinator.Reports;

/// <summary>
/// val_loss_vs_&lt;field&gt;.png: each finished trial's best validation loss against the value it
/// used for one swept field — the chart that shows which way to move that field. Trials that ran
/// but have no loss (failed, diverged) are marked along the top edge, so a region of the search
/// space that breaks training shows up instead of looking unexplored.
/// </summary>
public static class ValLossByFieldChart
{
    public static string FileName(string field) => $"val_loss_vs_{SafeName(field)}.png";

    /// <param name="logScale">The field was searched log-uniformly: plot it on a log axis.</param>
    public static void Write(string path, string field, IReadOnlyList<RankedTrial> ranked, bool logScale = false)
    {
        var plot = new Plot();
        plot.Title($"Best validation loss vs {field}");
        plot.YLabel("best validation loss");

        var withField = ranked.Where(r => r.Trial.Params.ContainsKey(field)).ToList();
        var scored = withField.Where(r => r.Rank is not null).ToList();
        // Pending trials have not run, and a sweep stopped by Ctrl+C leaves its trials running: they say nothing about their value yet.
        var unscored = withField.Where(r => r.Rank is null && !NotRunYet(r.Trial)).ToList();

        // The axis covers every trial that ran, so failed values are in range too.
        var axis = FieldAxis.For(field, scored.Concat(unscored).Select(r => r.Trial.Params[field]).ToList(), logScale);
        plot.XLabel(axis.Label);

        if (scored.Count == 0)
        {
            ChartFile.AddEmptyNote(plot, "no finished trial with a validation loss yet");
            ChartFile.SavePng(plot, path);
            return;
        }

        var all = scored.Concat(unscored).ToList();
        var xs = Spread(all.Select(r => axis.Position(r.Trial.Params[field])).ToArray(), axis.Kind);
        var losses = scored.Select(r => TrialRanking.RankingLoss(r.Trial)!.Value).ToArray();
        var (yMin, yMax) = (losses.Min(), losses.Max());
        var yPad = yMax > yMin ? (yMax - yMin) * 0.1 : Math.Max(Math.Abs(yMax) * 0.05, 0.05);

        // Rank 1 is scored[0]: ranked lists are best first. The others by how they ended: a trial stopped
        // early (patience, successive halving) did not finish, and its loss is where it stood when stopped.
        var others = Enumerable.Range(1, scored.Count - 1).ToList();
        var completed = others.Where(i => !IsStopped(scored[i].Trial)).ToArray();
        var stopped = others.Where(i => IsStopped(scored[i].Trial)).ToArray();
        if (completed.Length > 0)
        {
            var points = plot.Add.ScatterPoints(completed.Select(i => xs[i]).ToArray(), completed.Select(i => losses[i]).ToArray(), new ScottPlot.Palettes.Category10().GetColor(0));
            points.MarkerSize = 10;
            points.LegendText = "completed trial";
        }
        if (stopped.Length > 0)
        {
            var points = plot.Add.ScatterPoints(stopped.Select(i => xs[i]).ToArray(), stopped.Select(i => losses[i]).ToArray(), new ScottPlot.Palettes.Category10().GetColor(0));
            points.MarkerShape = MarkerShape.OpenCircle;
            points.MarkerSize = 11;
            points.MarkerLineWidth = 2;
            points.LegendText = "stopped early (its best loss before the stop)";
        }
        var best = plot.Add.ScatterPoints(xs[..1], losses[..1], Colors.OrangeRed);
        best.MarkerShape = MarkerShape.FilledDiamond;
        best.MarkerSize = 16;
        best.LegendText = $"best: trial {scored[0].Trial.Index}{(IsStopped(scored[0].Trial) ? ", stopped early" : "")} " +
                          $"({losses[0].ToString("F4", CultureInfo.InvariantCulture)}): {LossCurvesChart.Describe(Varying(scored[0].Trial, all))}";

        var top = yMax + yPad * 1.5;
        if (unscored.Count > 0)
        {
            var failed = plot.Add.ScatterPoints(xs[scored.Count..], Enumerable.Repeat(top, unscored.Count).ToArray(), Colors.Gray);
            failed.MarkerShape = MarkerShape.Cross;
            failed.MarkerSize = 12;
            failed.MarkerLineWidth = 2;
            failed.LegendText = "failed or diverged, no loss (drawn at top)";
        }

        if (axis.Ticks is { } ticks)
            plot.Axes.Bottom.SetTicks(ticks.Positions, ticks.Labels);
        if (axis.Limits is { } limits)
            plot.Axes.SetLimitsX(limits.Min, limits.Max);
        plot.Axes.SetLimitsY(yMin - yPad, (unscored.Count > 0 ? top : yMax) + yPad);
        // Below the data area, where it cannot cover a point; short entries fit in one row
        // and cost far less width than a column on the right.
        plot.ShowLegend(Edge.Bottom);
        ChartFile.SavePng(plot, path);
    }

    /// <summary>The trial's values of the fields that differ among <paramref name="all"/>: what sets it apart.</summary>
    private static IReadOnlyDictionary<string, object> Varying(TrialResult trial, IReadOnlyList<RankedTrial> all) =>
        trial.Params.Where(p => all.Select(r => ParamValue.ToInvariantString(r.Trial.Params.GetValueOrDefault(p.Key))).Distinct().Count() > 1)
            .ToDictionary();

    private static bool IsStopped(TrialResult trial) =>
        string.Equals(trial.Status, TrialStatus.StoppedEarly, StringComparison.OrdinalIgnoreCase);

    private static bool NotRunYet(TrialResult trial) =>
        string.Equals(trial.Status, TrialStatus.Pending, StringComparison.OrdinalIgnoreCase)
        || string.Equals(trial.Status, TrialStatus.Running, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Trials that share a category would sit on one spot and hide each other; spreading them a
    /// little sideways (deterministically, within the category's slot) keeps each one visible.
    /// </summary>
    private static double[] Spread(double[] xs, FieldAxisKind kind)
    {
        if (kind != FieldAxisKind.Categorical) return xs;
        var spread = (double[])xs.Clone();
        foreach (var group in Enumerable.Range(0, xs.Length).GroupBy(i => xs[i]))
        {
            var members = group.ToArray();
            if (members.Length < 2) continue;
            const double width = 0.3;
            for (var k = 0; k < members.Length; k++)
                spread[members[k]] = group.Key - width / 2 + width * k / (members.Length - 1);
        }
        return spread;
    }

    /// <summary>The field name as a file-name part: letters, digits, '.', '-', '_' kept, the rest '_'.</summary>
    public static string SafeName(string field)
    {
        var name = new StringBuilder(field.Length);
        foreach (var c in field)
            name.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        return name.Length == 0 ? "_" : name.ToString();
    }
}

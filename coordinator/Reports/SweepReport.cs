using Spectre.Console;

namespace Distributed.Coordinator.Reports;

/// <summary>
/// The end-of-sweep report: a ranked table in the terminal, results.csv and PNG charts in the
/// sweep's folder.
/// </summary>
public static class SweepReport
{
    /// <summary>
    /// Ranks <paramref name="trials"/> (lowest best validation loss first, failed and pending last),
    /// prints the table, and writes results.csv, loss_curves.png and one val_loss_vs_&lt;field&gt;.png
    /// per swept field that took more than one value into <paramref name="outputDirectory"/>.
    /// </summary>
    /// <param name="console">Where the table goes (tests pass a recording one); null: the terminal.</param>
    /// <param name="logScaleFields">Fields searched log-uniformly, charted on a log axis.</param>
    /// <returns>The full paths of the files written, results.csv first.</returns>
    public static IReadOnlyList<string> Write(string outputDirectory, IReadOnlyList<TrialResult> trials, IReadOnlyList<string> sweptFields,
        IAnsiConsole? console = null, IReadOnlyCollection<string>? logScaleFields = null)
    {
        console ??= AnsiConsole.Console;
        var ranked = TrialRanking.Rank(trials);
        ResultsTable.Print(console, ranked, sweptFields);

        Directory.CreateDirectory(outputDirectory);
        var written = new List<string>();

        var csv = Path.Combine(outputDirectory, ResultsCsv.FileName);
        ResultsCsv.Write(csv, ranked, sweptFields);
        written.Add(csv);

        var curves = Path.Combine(outputDirectory, LossCurvesChart.FileName);
        LossCurvesChart.Write(curves, ranked);
        written.Add(curves);

        foreach (var field in sweptFields)
        {
            var chart = Path.Combine(outputDirectory, ValLossByFieldChart.FileName(field));
            // A field every trial gave the same value shows nothing about that field: no chart (and none left from before).
            var values = trials.Where(t => t.Params.ContainsKey(field)).Select(t => ParamValue.ToInvariantString(t.Params[field])).Distinct().ToList();
            if (values.Count == 1)
            {
                File.Delete(chart);
                console.MarkupLineInterpolated($"No {Path.GetFileName(chart)}: every trial used {field}={values[0]}.");
                continue;
            }
            ValLossByFieldChart.Write(chart, field, ranked, logScaleFields?.Contains(field) == true);
            written.Add(chart);
        }
        return written;
    }
}

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
    /// per swept field into <paramref name="outputDirectory"/>.
    /// </summary>
    /// <returns>The full paths of the files written, results.csv first.</returns>
    public static IReadOnlyList<string> Write(string outputDirectory, IReadOnlyList<TrialResult> trials, IReadOnlyList<string> sweptFields) =>
        Write(outputDirectory, trials, sweptFields, AnsiConsole.Console);

    /// <summary>As above, printing the table to <paramref name="console"/> (tests pass a recording one).</summary>
    public static IReadOnlyList<string> Write(string outputDirectory, IReadOnlyList<TrialResult> trials, IReadOnlyList<string> sweptFields, IAnsiConsole console)
    {
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
            ValLossByFieldChart.Write(chart, field, ranked);
            written.Add(chart);
        }
        return written;
    }
}

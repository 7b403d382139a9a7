using System.Globalization;
using System.Text;
using Distributed.Models.Checkpoints;
using Distributed.Models;

namespace Distributed.Coordinator.Reports;

/// <summary>Writes the ranked trials as results.csv, for spreadsheets and scripts.</summary>
public static class ResultsCsv
{
    public const string FileName = "results.csv";

    /// <summary>
    /// Writes atomically (temporary file + rename) so a reader watching the sweep's folder never
    /// sees a half-written table.
    /// </summary>
    public static void Write(string path, IReadOnlyList<RankedTrial> ranked, IReadOnlyList<string> sweptFields)
    {
        var text = Format(ranked, sweptFields);
        // No byte-order mark: pandas and most CSV readers would take it into the first column name.
        var bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text);
        AtomicFile.Write(path, bytes);
    }

    public static string Format(IReadOnlyList<RankedTrial> ranked, IReadOnlyList<string> sweptFields)
    {
        var csv = new StringBuilder();
        csv.Append(Csv.Record(["rank", "trial", .. sweptFields, "status", "reason", "best_val_loss", "final_val_loss", "seconds"]));
        foreach (var (rank, trial) in ranked)
        {
            csv.Append(Csv.Record([
                rank?.ToString(CultureInfo.InvariantCulture) ?? "",
                trial.Index.ToString(CultureInfo.InvariantCulture),
                .. sweptFields.Select(f => ParamValue.ToInvariantString(trial.Params.GetValueOrDefault(f))),
                trial.Status,
                trial.Reason ?? "",
                Number(trial.BestValLoss),
                Number(trial.FinalValLoss),
                Number(trial.Seconds),
            ]));
        }
        return csv.ToString();
    }

    // Round-trip precision: the CSV is the machine-readable record, the table is for rounding.
    private static string Number(double? value) =>
        value?.ToString("R", CultureInfo.InvariantCulture) ?? "";
}

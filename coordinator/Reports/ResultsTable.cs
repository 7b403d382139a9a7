using System.Globalization;
using Distributed.Models.Experiments;
using Spectre.Console;

namespace Distributed.Coordinator.Reports;

/// <summary>The ranked trials as a terminal table, best row highlighted.</summary>
public static class ResultsTable
{
    public static void Print(IAnsiConsole console, IReadOnlyList<RankedTrial> ranked, IReadOnlyList<string> sweptFields)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]Sweep results[/] (lower validation loss is better)");
        // The table must stay readable in an 80-column terminal (what Spectre assumes when output
        // goes to a log). Spectre narrows only the columns allowed to wrap, so the number columns
        // are NoWrap — a loss broken over two lines misreads — and the field values and the status
        // take up the squeeze; reasons go below the table.
        table.AddColumn(new TableColumn("rank").RightAligned().NoWrap());
        table.AddColumn(new TableColumn("trial").RightAligned().NoWrap());
        foreach (var field in sweptFields)
            table.AddColumn(new TableColumn(Markup.Escape(field)));
        table.AddColumn("status");
        table.AddColumn(new TableColumn("best val").RightAligned().NoWrap());
        table.AddColumn(new TableColumn("final val").RightAligned().NoWrap());
        table.AddColumn(new TableColumn("sec").RightAligned().NoWrap());

        foreach (var (rank, trial) in ranked)
        {
            // The winning row stands out as a whole; other rows colour only their status.
            var style = rank == 1 ? "bold green" : null;
            string Cell(string text) => style is null ? Markup.Escape(text) : $"[{style}]{Markup.Escape(text)}[/]";

            var cells = new List<string>
            {
                Cell(rank?.ToString(CultureInfo.InvariantCulture) ?? "-"),
                Cell(trial.Index.ToString(CultureInfo.InvariantCulture)),
            };
            cells.AddRange(sweptFields.Select(f => Cell(ParamValue.ToDisplayString(trial.Params.GetValueOrDefault(f)))));
            cells.Add(StatusCell(trial, style));
            cells.Add(Cell(Loss(trial.BestValLoss)));
            cells.Add(Cell(Loss(trial.FinalValLoss)));
            cells.Add(Cell(trial.Seconds.ToString("F1", CultureInfo.InvariantCulture)));
            table.AddRow(cells.ToArray());
        }

        if (ranked.Count == 0)
            table.Caption("no trials");
        console.Write(table);
        // Reasons are free text: listed under the table so the columns keep their room.
        foreach (var (_, trial) in ranked.Where(r => !string.IsNullOrEmpty(r.Trial.Reason)))
            console.MarkupLineInterpolated($"  trial {trial.Index}: {trial.Status}: {trial.Reason}");
    }

    private static string StatusCell(TrialResult trial, string? rowStyle)
    {
        var text = trial.Status;
        var style = rowStyle ?? (string.Equals(trial.Status, TrialStatus.Failed, StringComparison.OrdinalIgnoreCase) ? "red"
            : string.Equals(trial.Status, TrialStatus.StoppedEarly, StringComparison.OrdinalIgnoreCase) ? "yellow"
            : string.Equals(trial.Status, TrialStatus.Pending, StringComparison.OrdinalIgnoreCase) ? "grey" : null);
        return style is null ? Markup.Escape(text) : $"[{style}]{Markup.Escape(text)}[/]";
    }

    private static string Loss(double? loss) =>
        loss?.ToString("F4", CultureInfo.InvariantCulture) ?? "-";
}

using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Distributed.Coordinator.Reports;
using Distributed.Models.Experiments;
using Spectre.Console;

namespace Distributed.Coordinator.Commands;

/// <summary>`runs`: what the experiment store holds — runs, and each run's trials with their results.</summary>
public static class RunsCommand
{
    public static Command Create()
    {
        var database = new Option<string>("--db")
        {
            Description = $"Experiment store: a run's or sweep's --out folder (which holds {ExperimentStore.DefaultFileName}), or the file itself.",
            DefaultValueFactory = _ => ExperimentStore.DefaultFileName,
        };
        var command = new Command("runs", "List recorded training runs and sweeps.") { database };
        command.SetAction((result, _) => CommandErrors.Guard(() =>
        {
            if (Console.IsOutputRedirected)
            {
                // A file or pipe has no width; Spectre would assume 80 columns and wrap every value.
                AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 160);
            }
            Print(AnsiConsole.Console, result.GetValue(database)!);
            return 0;
        }));
        return command;
    }

    /// <summary>The store's file for --db: the argument, or experiments.db inside it when it is a folder.</summary>
    public static string StorePath(string argument)
    {
        var path = Directory.Exists(argument) ? Path.Combine(argument, ExperimentStore.DefaultFileName) : argument;
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"No experiment store at '{Path.GetFullPath(path)}'; pass --db with a run's or sweep's --out folder (or its {ExperimentStore.DefaultFileName}).", path);
        }
        return path;
    }

    /// <summary>A table per run: local ISO times, losses to 4 decimals, swept values rounded.</summary>
    public static void Print(IAnsiConsole console, string argument)
    {
        using var store = ExperimentStore.Open(StorePath(argument));
        var runs = store.Runs();
        if (runs.Count == 0)
        {
            console.WriteLine("The store holds no runs yet.");
        }
        foreach (var run in runs)
        {
            var finished = run.FinishedAt is { } end ? $", finished {Time(end)}" : "";
            var seconds = run.Seconds is { } s ? $", {s.ToString("F1", CultureInfo.InvariantCulture)} s" : "";
            var table = new Table()
                .Title(Markup.Escape($"run {run.Id}: {run.Kind} '{run.Name}', {run.Status}, started {Time(run.CreatedAt)}{finished}{seconds}"));
            // Numbers never wrap (a loss broken over two lines misreads); the text columns take the squeeze.
            table.AddColumn(new TableColumn("trial").RightAligned().NoWrap());
            table.AddColumn(new TableColumn("status").NoWrap());
            table.AddColumn("params");
            table.AddColumn(new TableColumn("best val").RightAligned().NoWrap());
            table.AddColumn(new TableColumn("final val").RightAligned().NoWrap());
            table.AddColumn(new TableColumn("sec").RightAligned().NoWrap());
            table.AddColumn("checkpoint");
            var trials = store.Trials(run.Id);
            foreach (var trial in trials)
            {
                table.AddRow(trial.Index.ToString(CultureInfo.InvariantCulture), Markup.Escape(trial.Status),
                    Markup.Escape(Params(trial.ParamsJson)), Loss(trial.BestValLoss), Loss(trial.FinalValLoss),
                    trial.Seconds?.ToString("F1", CultureInfo.InvariantCulture) ?? "", Markup.Escape(trial.CheckpointPath ?? ""));
            }
            console.Write(table);
            // Reasons are free text: below the table, so the columns keep their room.
            foreach (var trial in trials.Where(t => t.Reason is not null))
            {
                console.WriteLine($"  trial {trial.Index}: {trial.Status}: {trial.Reason}");
            }
        }
    }

    /// <summary>A stored (UTC) time in this machine's zone, to the minute: 2026-12-02 03:14.</summary>
    public static string Time(DateTimeOffset time) => time.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    /// <summary>A trial's swept values as "learning_rate=3.162e-04 n_layer=4", not 17-digit JSON.</summary>
    public static string Params(string json)
    {
        Dictionary<string, JsonElement>? values;
        try
        {
            values = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json);
        }
        catch (JsonException)
        {
            return json;
        }
        return values is null ? "" : string.Join(" ", values.Select(v => $"{v.Key}={ParamValue.ToDisplayString(v.Value)}"));
    }

    private static string Loss(double? loss) => loss is { } value && double.IsFinite(value) ? value.ToString("F4", CultureInfo.InvariantCulture) : loss?.ToString(CultureInfo.InvariantCulture) ?? "";
}

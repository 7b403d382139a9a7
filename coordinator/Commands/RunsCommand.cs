using System.CommandLine;
using Distributed.Models.Experiments;
using Spectre.Console;

namespace Distributed.Coordinator.Commands;

/// <summary>`runs`: what the experiment store holds — runs, and each run's trials with their results.</summary>
public static class RunsCommand
{
    public static Command Create()
    {
        var database = new Option<string>("--db") { Description = "Experiment store (a run's or sweep's --out folder holds experiments.db).", DefaultValueFactory = _ => ExperimentStore.DefaultFileName };
        var command = new Command("runs", "List recorded training runs and sweeps.") { database };
        command.SetAction((result, _) => CommandErrors.Guard(() =>
        {
            var path = result.GetValue(database)!;
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"No experiment store at '{Path.GetFullPath(path)}'; pass --db <out folder>/{ExperimentStore.DefaultFileName}.", path);
            }
            using var store = ExperimentStore.Open(path);
            foreach (var run in store.Runs())
            {
                var table = new Table().Title($"run {run.Id}: {run.Kind} '{run.Name}', {run.Status}, started {run.CreatedAt}")
                    .AddColumns("trial", "status", "params", "best val loss", "final val loss", "checkpoint");
                foreach (var trial in store.Trials(run.Id))
                {
                    table.AddRow(trial.Index.ToString(), Markup.Escape(trial.Status + (trial.Reason is { } reason ? $": {reason}" : "")),
                        Markup.Escape(trial.ParamsJson), trial.BestValLoss?.ToString("F4") ?? "", trial.FinalValLoss?.ToString("F4") ?? "",
                        Markup.Escape(trial.CheckpointPath ?? ""));
                }
                AnsiConsole.Write(table);
            }
            return 0;
        }));
        return command;
    }
}

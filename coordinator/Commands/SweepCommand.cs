using System.CommandLine;
using Distributed.Coordinator.Distributed;
using Distributed.Coordinator.Reports;
using Distributed.Coordinator.Search;
using Distributed.Models.Experiments;
using Distributed.Protocol;
using Spectre.Console;

namespace Distributed.Coordinator.Commands;

/// <summary>`sweep`: hyperparameter search over local workers, with an experiment store and a report.</summary>
public static class SweepCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "Sweep file: base config, search space, strategy (see configs/sweep-shakespeare.json).", Required = true };
        var data = new Option<string>("--data") { Description = "UTF-8 text file, or 'tinyshakespeare' (shipped inside the program).", Required = true };
        var workers = new Option<int>("--workers") { Description = "Worker processes on this machine, shared by the trials.", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "Output folder: experiments.db, results.csv, charts, trials/.", DefaultValueFactory = _ => "sweep" };
        var resume = new Option<bool>("--resume") { Description = "Continue the sweep in --out without redoing finished trials." };
        var timeout = new Option<double>("--timeout") { Description = "Seconds of silence after which a worker counts as lost.", DefaultValueFactory = _ => 10 };
        var dashboardPort = new Option<int>("--dashboard-port")
        {
            Description = "Serve the live dashboard (the trials table, the running trial's curves) at http://127.0.0.1:P/ (default 0: any free port; the log says which).",
            DefaultValueFactory = _ => 0,
        };
        var command = new Command("sweep", "Search hyperparameters by grid or random search, judged on validation loss.")
        {
            config, data, workers, output, resume, timeout, dashboardPort,
        };
        command.SetAction((result, cancel) => CommandErrors.Guard(() =>
        {
            var options = new SweepJobOptions
            {
                SweepPath = result.GetValue(config)!,
                Data = result.GetValue(data)!,
                Workers = result.GetValue(workers),
                OutputDirectory = result.GetValue(output)!,
                Resume = result.GetValue(resume),
                Timeout = TimeSpan.FromSeconds(result.GetValue(timeout)),
                DashboardPort = result.GetValue(dashboardPort),
            };
            if (options.Workers < 1)
            {
                throw new ArgumentException($"--workers {options.Workers} must be at least 1.");
            }
            if (options.DashboardPort is < 0 or > 65535)
            {
                throw new ArgumentException($"--dashboard-port {options.DashboardPort} is not a port; pass 0 (any free port) or 1..65535, e.g. --dashboard-port 8080.");
            }
            using var terminal = new TerminalLoggerProvider();
            using var loggers = LoggerFactory.Create(b => b.AddProvider(terminal).SetMinimumLevel(LogLevel.Warning));
            // Trials share the machine: every worker gets the cores divided among all of them.
            var cores = Environment.ProcessorCount;
            if (WorkerThreads.Oversubscription(options.Workers, WorkerThreads.Each(options.Workers, 0, cores), cores) is { } crowded)
            {
                TerminalLog.Warning($"Warning: {crowded}");
            }
            var clock = System.Diagnostics.Stopwatch.StartNew();
            // Ctrl+C or SIGTERM stops the sweep between trials' steps; unfinished trials run again with --resume.
            using var stop = StopSignal.Listen(cancel);
            var trials = new SweepJob(options, TrainCommand.Log, loggers).RunAsync(stop.Token).GetAwaiter().GetResult();
            var spec = Models.Search.SweepLoader.Load(options.SweepPath);
            if (Console.IsOutputRedirected)
            {
                // A log file has no width limit; Spectre would otherwise assume 80 columns and wrap every value.
                AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 160);
            }
            var files = SweepReport.Write(options.OutputDirectory, trials, spec.Space.Select(d => d.Field).ToList(),
                logScaleFields: spec.Space.OfType<Models.Search.LogUniformDimension>().Select(d => d.Field).ToList());
            var folder = Path.GetFullPath(options.OutputDirectory);
            if (stop.Token.IsCancellationRequested)
            {
                TerminalLog.Markup(Markup.Escape($"Interrupted{(stop.Received is { } signal ? $" ({signal})" : "")}: continue with sweep --resume --out {folder} (same --config and --data)."));
            }
            TerminalLog.Markup(Markup.Escape($"Sweep {(stop.Token.IsCancellationRequested ? "stopped" : "finished")} in {clock.Elapsed.TotalMinutes:F1} min. " +
                $"Wrote {string.Join(", ", files.Select(Path.GetFileName))} in {folder}; list its trials with: runs --db {folder}"));
            return 0;
        }));
        return command;
    }
}

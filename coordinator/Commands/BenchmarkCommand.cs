using System.CommandLine;
using Distributed.Coordinator.Benchmarks;
using Distributed.Models.Config;
using Distributed.Models;
using Distributed.Protocol;
using Spectre.Console;

namespace Distributed.Coordinator.Commands;

/// <summary>`benchmark allreduce`: gradient all-reduce through the coordinator vs a plain gRPC echo, side by side.</summary>
public static class BenchmarkCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "Model whose gradient is all-reduced.", DefaultValueFactory = _ => "gpt2" };
        var workers = new Option<int>("--workers") { Description = "Workers (and echo clients).", DefaultValueFactory = _ => 2 };
        var rounds = new Option<int>("--rounds") { Description = "Measured rounds of each.", DefaultValueFactory = _ => 3 };
        var allReduce = new Command("allreduce", "All-reduce a model's gradient through the coordinator on loopback, next to a gRPC echo of the same bytes.")
        {
            preset, workers, rounds,
        };
        allReduce.SetAction(async (result, cancel) =>
        {
            // Ctrl+C or SIGTERM cancels the measurement (the gRPC hosts it starts would otherwise swallow the signal).
            using var stop = StopSignal.Listen(cancel);
            var config = GptPresets.Get(result.GetValue(preset)!);
            var (count, repeat) = (result.GetValue(workers), result.GetValue(rounds));
            var parameters = ParameterCount.Of(config).Total;
            AnsiConsole.MarkupLineInterpolated($"{result.GetValue(preset)}: {parameters:N0} gradients ({parameters * 4 / 1e6:N0} MB) each way per worker, {count} workers, {repeat} rounds");
            var echo = new List<Transfer>();
            for (var i = 0; i < repeat; i++)
            {
                echo.AddRange(await AllReduceBenchmark.EchoAsync(parameters * 4, count, stop.Token));
            }
            var reduce = await AllReduceBenchmark.AllReduceAsync(config, count, repeat, stop.Token);
            var table = new Table().AddColumns("path", "per client, per direction (median)", "all samples (GB/s)");
            table.AddRow("gRPC bidirectional echo", $"{Median(echo):F3} GB/s", string.Join(" ", echo.Select(t => t.GigabytesPerSecond.ToString("F3"))));
            table.AddRow("all-reduce through the coordinator", $"{Median(reduce):F3} GB/s", string.Join(" ", reduce.Select(t => t.GigabytesPerSecond.ToString("F3"))));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"all-reduce / echo = [bold]{Median(reduce) / Median(echo):P0}[/]");
            return 0;
        });
        return new Command("benchmark", "Measure parts of the system.") { allReduce };
    }

    private static double Median(IReadOnlyList<Transfer> transfers)
    {
        var sorted = transfers.Select(t => t.GigabytesPerSecond).Order().ToList();
        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}

using System.CommandLine;
using System.Text.Json;
using Distributed.Coordinator.Benchmarks;
using Distributed.Models.Config;
using Distributed.Models;
using Distributed.Protocol;
using Spectre.Console;

namespace Distributed.Coordinator.Commands;

/// <summary>`benchmark allreduce`: the gradient all-reduce through the coordinator over each data plane, next to each one's ceiling.</summary>
public static class BenchmarkCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "Model whose gradient is all-reduced.", DefaultValueFactory = _ => "gpt2" };
        var workers = new Option<int>("--workers") { Description = "Workers (and echo clients).", DefaultValueFactory = _ => 2 };
        var rounds = new Option<int>("--rounds") { Description = "Measured rounds of each.", DefaultValueFactory = _ => 3 };
        var allReduce = new Command("allreduce", "All-reduce a model's gradient through the coordinator on this host over each data plane (shared memory, gRPC, gRPC with bf16, raw TCP), next to its ceiling (memcpy, gRPC echo, raw TCP echo).")
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
            var bytes = parameters * sizeof(float);
            AnsiConsole.MarkupLineInterpolated($"{result.GetValue(preset)}: {parameters:N0} gradients ({bytes / 1e6:N0} MB of float32) each way per worker, {count} workers, {repeat} rounds");
            async Task<List<Transfer>> Rounds(Func<Task<IReadOnlyList<Transfer>>> once)
            {
                var all = new List<Transfer>();
                for (var i = 0; i < repeat; i++)
                {
                    all.AddRange(await once());
                }
                return all;
            }
            // Ceilings first, then each transport, one at a time (two cores: nothing measured side by side).
            var memcpy = await Rounds(() => Task.FromResult(AllReduceBenchmark.Memcpy(bytes, count)));
            var socket = await Rounds(() => AllReduceBenchmark.SocketEchoAsync(bytes, count, stop.Token));
            var echo = await Rounds(() => AllReduceBenchmark.EchoAsync(bytes, count, stop.Token));
            var rows = new (string Transport, IReadOnlyList<Transfer> Samples, string Ceiling, IReadOnlyList<Transfer> CeilingSamples)[]
            {
                ("shared-memory", await AllReduceBenchmark.AllReduceAsync(config, count, repeat, BenchmarkTransport.SharedMemory, stop.Token), "memcpy", memcpy),
                ("grpc", await AllReduceBenchmark.AllReduceAsync(config, count, repeat, BenchmarkTransport.Grpc, stop.Token), "grpc-echo", echo),
                ("grpc-bf16", await AllReduceBenchmark.AllReduceAsync(config, count, repeat, BenchmarkTransport.GrpcBf16, stop.Token), "grpc-echo", echo),
                ("tcp", await AllReduceBenchmark.AllReduceAsync(config, count, repeat, BenchmarkTransport.Tcp, stop.Token), "tcp-echo", socket),
            };
            var table = new Table().AddColumns("transport", "all-reduce per worker (median)", "ceiling", "ceiling (median)", "of ceiling", "all samples (GB/s)");
            foreach (var (transport, samples, ceiling, ceilingSamples) in rows)
            {
                table.AddRow(transport, $"{Median(samples):F3} GB/s", ceiling, $"{Median(ceilingSamples):F3} GB/s", $"{Median(samples) / Median(ceilingSamples):P0}",
                    string.Join(" ", samples.Select(t => t.GigabytesPerSecond.ToString("F3"))));
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"A raw TCP socket echo of the same bytes: {Median(socket):F3} GB/s per client (what a network path could reach; gRPC reaches {Median(rows[1].Samples) / Median(socket):P0} of it).");
            AnsiConsole.MarkupLine("GB/s count the float32 gradient's bytes in one direction (bf16 sends half as many).");
            foreach (var (transport, samples, ceiling, ceilingSamples) in rows.Append(("grpc", rows[1].Samples, "tcp-echo", socket)))
            {
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["transport"] = transport, ["gb_per_s_per_worker"] = Math.Round(Median(samples), 4),
                    ["ceiling"] = ceiling, ["ceiling_gb_per_s"] = Math.Round(Median(ceilingSamples), 4),
                }));
            }
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

using System.Diagnostics;
using System.Net;
using Distributed.Coordinator.Distributed;
using Distributed.Models.Data;
using Distributed.Models.Tokenizers;
using Distributed.Models;
using Distributed.Protocol.Benchmark.V1;
using Distributed.Protocol.V1;
using Distributed.Protocol;
using Google.Protobuf;
using Grpc.Net.Client;

namespace Distributed.Coordinator.Benchmarks;

/// <summary>One measured transfer: bytes each way and the seconds it took one client.</summary>
public sealed record Transfer(long BytesEachWay, double Seconds)
{
    public double GigabytesPerSecond => BytesEachWay / Seconds / 1e9;
}

/// <summary>
/// The all-reduce of a model's whole gradient by W workers through the coordinator, on loopback, next
/// to a plain gRPC bidirectional echo of the same bytes by W clients. The workers are in-process
/// gRPC clients that send synthetic gradients (no model is run), so only communication is timed.
/// </summary>
public static class AllReduceBenchmark
{
    public static async Task<IReadOnlyList<Transfer>> EchoAsync(long bytes, int clients, CancellationToken cancel)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => CoordinatorHost.Configure(k, new CoordinatorEndpoint(IPAddress.Loopback, 0) { Workers = clients }));
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = CoordinatorConnection.MaxMessageBytes);
        await using var app = builder.Build();
        app.MapGrpcService<EchoService>();
        await app.StartAsync(cancel);
        var address = $"http://127.0.0.1:{CoordinatorHost.BoundPort(app)}";
        var chunk = ByteString.CopyFrom(new byte[Chunks.Bytes]);
        var transfers = await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = CoordinatorConnection.MaxMessageBytes });
            using var call = new Echo.EchoClient(channel).Echo(cancellationToken: cancel);
            var count = (int)(bytes / Chunks.Bytes);
            var clock = Stopwatch.StartNew();
            var reading = Task.Run(async () =>
            {
                for (var i = 0; i < count && await call.ResponseStream.MoveNext(cancel); i++) { }
            }, cancel);
            for (var i = 0; i < count; i++)
            {
                await call.RequestStream.WriteAsync(new EchoChunk { Data = chunk }, cancel);
            }
            await reading;
            var seconds = clock.Elapsed.TotalSeconds;
            await call.RequestStream.CompleteAsync();
            return new Transfer((long)count * Chunks.Bytes, seconds);
        }, cancel)));
        await app.StopAsync(cancel);
        return transfers;
    }

    /// <summary>Runs <paramref name="rounds"/> all-reduce steps of <paramref name="config"/>'s gradient; returns each worker's time per round.</summary>
    public static async Task<IReadOnlyList<Transfer>> AllReduceAsync(GptConfig config, int workers, int rounds, CancellationToken cancel)
    {
        // A synthetic corpus just large enough for the run's bookkeeping: this measures communication only.
        var window = config.MaxSequenceLength + 1;
        var rng = new Rng(1);
        var tokens = Enumerable.Range(0, window * workers * 12).Select(_ => rng.NextInt(config.VocabSize)).ToArray();
        var sampler = new EpochSampler(new TokenDataset(tokens), config.MaxSequenceLength, config.Seed);
        var run = config with { BatchSize = workers, MaxSteps = rounds, NumEpochs = 1, Optimizer = OptimizerKind.Sgd };
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
        using var coordinator = new DistributedRun(run, CharTokenizer.Train("ab"), sampler,
            new DistributedRunOptions { Workers = workers, Timeout = TimeSpan.FromMinutes(5), OutputDirectory = Path.GetTempPath() },
            loggers.CreateLogger<DistributedRun>());
        var token = Guid.NewGuid().ToString("N");
        await using var host = await CoordinatorHost.StartAsync(coordinator, token, new CoordinatorEndpoint(IPAddress.Loopback, 0) { Workers = workers }, cancel);
        var address = $"http://127.0.0.1:{CoordinatorHost.BoundPort(host)}";
        var length = (int)coordinator.Replica.Layout.TotalLength;
        var results = await Task.WhenAll(Enumerable.Range(0, workers).Select(k => Task.Run(() => Worker(address, token, length, rounds, k, cancel), cancel)));
        await host.StopAsync(cancel);
        return results.SelectMany(r => r).ToList();
    }

    private static async Task<List<Transfer>> Worker(string address, string token, int length, int rounds, int seed, CancellationToken cancel)
    {
        using var connection = new CoordinatorConnection(new Uri(address), token);
        var client = connection.Client;
        var join = await client.JoinAsync(new JoinRequest { ProtocolVersion = ProtocolVersion._1, WorkerName = $"bench-{seed}", Device = "cpu" }, cancellationToken: cancel);
        Assignment assignment;
        while ((assignment = await client.NextAssignmentAsync(new AssignmentRequest { WorkerId = join.WorkerId }, cancellationToken: cancel)).Kind != Assignment.Types.Kind.Train)
        {
            await Task.Delay(20, cancel);
        }
        var rng = new Rng(seed);
        var gradient = Enumerable.Range(0, length).Select(_ => (float)(rng.NextGaussian() * 1e-3)).ToArray();
        using var stream = new AllReduceStream(client, join.WorkerId, join.ModelFingerprint, assignment.Generation, cancel);
        var transfers = new List<Transfer>();
        for (var round = 0; round < rounds; round++)
        {
            // From the first bucket sent to the last reduced bucket received.
            var start = Stopwatch.GetTimestamp();
            await stream.ReduceAsync(assignment.FirstStep + round, 1f, gradient, cancel);
            transfers.Add(new Transfer((long)length * sizeof(float), Stopwatch.GetElapsedTime(start, stream.LastBucketTimestamp).TotalSeconds));
        }
        await stream.CompleteAsync(cancel);
        return transfers;
    }
}

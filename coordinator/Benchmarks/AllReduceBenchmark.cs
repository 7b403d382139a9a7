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

/// <summary>The data planes a benchmark worker can use.</summary>
public enum BenchmarkTransport { SharedMemory, Grpc, GrpcBf16, Tcp }

/// <summary>
/// The all-reduce of a model's whole gradient by W workers through the coordinator, on loopback, over
/// each data plane, next to each one's ceiling: a memcpy of the same bytes (shared memory), a raw TCP
/// socket echo (the tcp plane) and a plain gRPC bidirectional echo by W clients (the network paths). The workers are
/// in-process clients that send synthetic gradients (no model is run), so only communication is timed.
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

    /// <summary>W clients each send <paramref name="bytes"/> over a loopback TCP socket and read them back from a server that echoes: the network path's ceiling.</summary>
    public static async Task<IReadOnlyList<Transfer>> SocketEchoAsync(long bytes, int clients, CancellationToken cancel)
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var servers = Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            using var socket = await listener.AcceptSocketAsync(cancel);
            var buffer = new byte[Chunks.Bytes];
            for (long echoed = 0; echoed < bytes;)
            {
                var read = await socket.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, bytes - echoed)), cancel);
                if (read == 0)
                {
                    break;
                }
                await socket.SendAsync(buffer.AsMemory(0, read), cancel);
                echoed += read;
            }
        }));
        var transfers = await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, port, cancel);
            var (send, receive) = (new byte[Chunks.Bytes], new byte[Chunks.Bytes]);
            var clock = Stopwatch.StartNew();
            var reading = Task.Run(async () =>
            {
                for (long received = 0; received < bytes;)
                {
                    received += await socket.ReceiveAsync(receive, cancel);
                }
            }, cancel);
            for (long sent = 0; sent < bytes; sent += send.Length)
            {
                await socket.SendAsync(send.AsMemory(0, (int)Math.Min(send.Length, bytes - sent)), cancel);
            }
            await reading;
            return new Transfer(bytes, clock.Elapsed.TotalSeconds);
        }, cancel)));
        await servers;
        return transfers;
    }

    /// <summary>One copy of <paramref name="bytes"/> by W threads at once, each its own buffers: the shared-memory plane's ceiling.</summary>
    public static IReadOnlyList<Transfer> Memcpy(long bytes, int clients)
    {
        var buffers = Enumerable.Range(0, clients).Select(_ => (From: new float[bytes / sizeof(float)], To: new float[bytes / sizeof(float)])).ToList();
        buffers.ForEach(b => { b.From.AsSpan().Fill(1f); b.To.AsSpan().Clear(); });   // pages touched before timing
        var transfers = new Transfer[clients];
        Parallel.For(0, clients, new ParallelOptions { MaxDegreeOfParallelism = clients }, k =>
        {
            var clock = Stopwatch.StartNew();
            buffers[k].From.AsSpan().CopyTo(buffers[k].To);
            transfers[k] = new Transfer(bytes, clock.Elapsed.TotalSeconds);
        });
        return transfers;
    }

    /// <summary>Runs <paramref name="rounds"/> all-reduce steps of <paramref name="config"/>'s gradient over <paramref name="transport"/>; returns each worker's time per round.</summary>
    public static async Task<IReadOnlyList<Transfer>> AllReduceAsync(GptConfig config, int workers, int rounds, BenchmarkTransport transport, CancellationToken cancel)
    {
        // A synthetic corpus just large enough for the run's bookkeeping: this measures communication only.
        var window = config.MaxSequenceLength + 1;
        var rng = new Rng(1);
        var tokens = Enumerable.Range(0, window * workers * 12).Select(_ => rng.NextInt(config.VocabSize)).ToArray();
        var sampler = new EpochSampler(new TokenDataset(tokens), config.MaxSequenceLength, config.Seed);
        var run = config with
        {
            BatchSize = workers, MaxSteps = rounds + 1, NumEpochs = 1, Optimizer = OptimizerKind.Sgd,
            AllReduceDtype = transport == BenchmarkTransport.GrpcBf16 ? AllReduceDtype.Bf16 : AllReduceDtype.Fp32,
        };
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
        using var coordinator = new DistributedRun(run, CharTokenizer.Train("ab"), sampler,
            new DistributedRunOptions { Workers = workers, Timeout = TimeSpan.FromMinutes(5), OutputDirectory = Path.GetTempPath() },
            loggers.CreateLogger<DistributedRun>());
        var token = Guid.NewGuid().ToString("N");
        await using var host = await CoordinatorHost.StartAsync(coordinator, token, new CoordinatorEndpoint(IPAddress.Loopback, 0) { Workers = workers }, cancel);
        var address = $"http://127.0.0.1:{CoordinatorHost.BoundPort(host)}";
        var length = (int)coordinator.Replica.Layout.TotalLength;
        var results = await Task.WhenAll(Enumerable.Range(0, workers).Select(k => Task.Run(() => Worker(address, token, length, rounds, k, run, transport, cancel), cancel)));
        await host.StopAsync(cancel);
        return results.SelectMany(r => r).ToList();
    }

    private static async Task<List<Transfer>> Worker(string address, string token, int length, int rounds, int seed, GptConfig config,
        BenchmarkTransport transport, CancellationToken cancel)
    {
        using var connection = new CoordinatorConnection(new Uri(address), token);
        var client = connection.Client;
        var join = await client.JoinAsync(new JoinRequest
        {
            ProtocolVersion = ProtocolVersion._2, WorkerName = $"bench-{seed}", Device = "cpu",
            BootId = transport == BenchmarkTransport.SharedMemory ? HostIdentity.BootId() : "", TcpDataPlane = transport == BenchmarkTransport.Tcp,
        }, cancellationToken: cancel);
        using GradientWire wire = transport switch
        {
            BenchmarkTransport.SharedMemory => SharedMemoryGradients.Open(
                join.SharedMemory ?? throw new InvalidOperationException("The coordinator offered no shared memory (no /dev/shm here?)."), length),
            BenchmarkTransport.Tcp => new TcpGradients(join.Tcp ?? throw new InvalidOperationException("The coordinator offered no tcp data plane."),
                "127.0.0.1", TimeSpan.FromSeconds(30)),
            _ => new InlineGradients(config.AllReduceDtype),
        };
        Assignment assignment;
        while ((assignment = await client.NextAssignmentAsync(new AssignmentRequest { WorkerId = join.WorkerId }, cancellationToken: cancel)).Kind != Assignment.Types.Kind.Train)
        {
            await Task.Delay(20, cancel);
        }
        var rng = new Rng(seed);
        var gradient = Enumerable.Range(0, length).Select(_ => (float)(rng.NextGaussian() * 1e-3)).ToArray();
        using var stream = new AllReduceStream(client, join.WorkerId, join.ModelFingerprint, assignment.Generation, wire, cancel);
        var transfers = new List<Transfer>();
        for (var round = 0; round <= rounds; round++)   // round 0 warms up (first touches of the shared pages, JIT): not counted
        {
            // From the first bucket sent to the averaged gradient whole in the worker's buffer.
            var start = Stopwatch.GetTimestamp();
            await stream.ReduceAsync(assignment.FirstStep + round, 1f, gradient, cancel);
            if (round > 0)
            {
                transfers.Add(new Transfer((long)length * sizeof(float), Stopwatch.GetElapsedTime(start, stream.LastBucketTimestamp).TotalSeconds));
            }
        }
        await stream.CompleteAsync(cancel);
        return transfers;
    }
}

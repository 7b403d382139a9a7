using Distributed.Protocol.Benchmark.V1;
using Grpc.Core;

namespace Distributed.Coordinator.Benchmarks;

/// <summary>Sends every chunk straight back: the cost of gRPC itself, for comparison.</summary>
public sealed class EchoService : Echo.EchoBase
{
    public override async Task Echo(IAsyncStreamReader<EchoChunk> requestStream, IServerStreamWriter<EchoChunk> responseStream, ServerCallContext context)
    {
        await foreach (var chunk in requestStream.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(chunk, context.CancellationToken);
        }
    }
}

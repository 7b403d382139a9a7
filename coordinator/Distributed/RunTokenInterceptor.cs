using System.Security.Cryptography;
using System.Text;
using Distributed.Protocol;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Distributed.Coordinator.Distributed;

/// <summary>
/// Refuses every distributed.v1 call that lacks the run's token (Unauthenticated), with a log line
/// naming the caller. The grpc.health.v1 service stays open for probes.
/// </summary>
public sealed class RunTokenInterceptor(RunTokenSecret secret, ILogger<RunTokenInterceptor> log) : Interceptor
{
    private const string ServicePrefix = "/distributed.v1.";

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Check(ServerCallContext context)
    {
        if (!context.Method.StartsWith(ServicePrefix, StringComparison.Ordinal))
        {
            return;
        }
        var presented = context.RequestHeaders.GetValue(RunToken.Header) ?? "";
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(secret.Value)))
        {
            log.LogWarning("Refused {Method} from {Peer}: {Problem}", context.Method, context.Peer,
                presented.Length == 0 ? "no run token" : "wrong run token");
            throw new RpcException(new Status(StatusCode.Unauthenticated,
                $"Missing or wrong run token: pass the coordinator's token with --token or {RunToken.EnvironmentVariable}."));
        }
    }
}

/// <summary>The run's token, as the coordinator was given it.</summary>
public sealed record RunTokenSecret(string Value);

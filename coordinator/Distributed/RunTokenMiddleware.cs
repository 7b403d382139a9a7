using System.Security.Cryptography;
using System.Text;
using Distributed.Protocol;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Distributed.Coordinator.Distributed;

/// <summary>
/// Checks the run token on a request's headers, before routing and before any of its body is read,
/// and bounds what an admitted request may send. Only grpc.health.v1 stays open without the token,
/// for probes; every other path is protected, whatever its letter case or percent-encoding (routing
/// ignores both) and including paths no service has.
/// </summary>
public sealed class RunTokenMiddleware(RequestDelegate next, string token, ILogger<RunTokenMiddleware> log)
{
    /// <summary>A control message (join, heartbeat, assignment, report) is a few hundred bytes.</summary>
    public const long ControlBodyBytes = 64 << 10;

    private static readonly HashSet<string> HealthMethods = Grpc.Health.V1.Health.Descriptor.Methods
        .Select(m => $"/{m.Service.FullName}/{m.Name}").ToHashSet(StringComparer.OrdinalIgnoreCase);

    private static readonly string AllReducePath = $"/{Protocol.V1.Coordinator.Descriptor.FullName}/{nameof(Protocol.V1.Coordinator.CoordinatorClient.AllReduce)}";

    private const string Refusal = $"Missing or wrong run token: pass the coordinator's token with --token or ${RunToken.EnvironmentVariable}.";

    // Compared as hashes: equal lengths, so the comparison takes the same time whatever was presented.
    private readonly byte[] _tokenHash = SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public Task InvokeAsync(HttpContext context)
    {
        // Kestrel has decoded the path but for %2F; decoding that too cannot make a protected path look like health.
        var path = Uri.UnescapeDataString(context.Request.Path.Value ?? "");
        if (HealthMethods.Contains(path))
        {
            return next(context);
        }
        var presented = context.Request.Headers[RunToken.Header];
        if (presented.Count != 1 || !CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented[0] ?? "")), _tokenHash))
        {
            log.LogWarning("Refused {Method} from {Peer}: {Problem}", context.Request.Path.ToString(),
                $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}", presented.Count == 0 ? "no run token" : "wrong run token");
            return RefuseAsync(context);
        }
        var allReduce = string.Equals(path, AllReducePath, StringComparison.OrdinalIgnoreCase);
        // The all-reduce stream carries the whole gradient every step and idles while the workers
        // compute: no total limit and no minimum rate (gRPC's message size limit still holds per
        // bucket). Everything else is one small message, sent at the server-wide minimum rate.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = allReduce ? null : ControlBodyBytes;
        }
        if (allReduce && context.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }
        return next(context);
    }

    /// <summary>A gRPC trailers-only response: the status in the headers, no body, the stream ended.</summary>
    private static Task RefuseAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/grpc";
        context.Response.Headers["grpc-status"] = ((int)Grpc.Core.StatusCode.Unauthenticated).ToString();
        // grpc-message is percent-encoded on the wire; this text has nothing that needs it.
        context.Response.Headers["grpc-message"] = Refusal;
        return Task.CompletedTask;
    }
}

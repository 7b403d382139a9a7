using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Distributed.Protocol;
using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Distributed.Coordinator.Distributed;

/// <summary>
/// Checks the run token on a request's headers, before routing and before any of its body is read,
/// and bounds what an admitted request may send. Only grpc.health.v1's Check stays open without the
/// token, for probes; every other path is protected, whatever its letter case or percent-encoding (routing
/// ignores both) and including paths no service has. On the cleartext health port (if any) Check is all
/// there is: every other call is refused there, token or not, so the run's calls only go over --port.
/// </summary>
/// <param name="healthPort">The local port that serves only health Check (<see cref="CoordinatorEndpoint.HealthPort"/>); 0: none.</param>
public sealed class RunTokenMiddleware(RequestDelegate next, string token, int healthPort, ILogger<RunTokenMiddleware> log)
{
    /// <summary>
    /// Kestrel's request body limit: a control message (join, heartbeat, assignment, report, a health
    /// check) is a few hundred bytes. Only AllReduce and UploadState are let past it.
    /// </summary>
    public const long ControlBodyBytes = 64 << 10;

    /// <summary>
    /// The one call open without the token: what Kubernetes' grpc probes send. Health's Watch, a stream
    /// a stranger could hold open for good, needs the token like everything else.
    /// </summary>
    private static readonly string HealthCheckPath = $"/{Grpc.Health.V1.Health.Descriptor.FullName}/Check";

    private static readonly string AllReducePath = $"/{Protocol.V1.Coordinator.Descriptor.FullName}/{nameof(Protocol.V1.Coordinator.CoordinatorClient.AllReduce)}";

    private static readonly string UploadStatePath = $"/{Protocol.V1.Coordinator.Descriptor.FullName}/{nameof(Protocol.V1.Coordinator.CoordinatorClient.UploadState)}";

    private const string TokenRefusal = $"Missing or wrong run token: pass the coordinator's token with --token or ${RunToken.EnvironmentVariable}.";

    // Compared as hashes: equal lengths, so the comparison takes the same time whatever was presented.
    private readonly byte[] _tokenHash = SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public async Task InvokeAsync(HttpContext context)
    {
        // Kestrel has decoded the path but for %2F; decoding that too cannot make a protected path look like health.
        var path = Uri.UnescapeDataString(context.Request.Path.Value ?? "");
        var isHealthCheck = string.Equals(path, HealthCheckPath, StringComparison.OrdinalIgnoreCase);
        if (healthPort != 0 && context.Connection.LocalPort == healthPort && !isHealthCheck)
        {
            Refuse(context, StatusCode.PermissionDenied, $"Port {healthPort} serves only {HealthCheckPath}: make the run's calls on the coordinator's --port.",
                "a call other than health Check on the health port");
            return;
        }
        var presented = context.Request.Headers[RunToken.Header];
        if (!isHealthCheck
            && (presented.Count != 1 || !CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented[0] ?? "")), _tokenHash)))
        {
            Refuse(context, StatusCode.Unauthenticated, TokenRefusal, presented.Count == 0 ? "no run token" : "wrong run token");
            return;
        }
        if (string.Equals(path, AllReducePath, StringComparison.OrdinalIgnoreCase))
        {
            // The all-reduce stream carries the whole gradient every step and idles while the workers
            // compute: no total limit and no minimum rate (gRPC's message size limit still holds per bucket).
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                size.MaxRequestBodySize = null;
            }
            if (context.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
            {
                rate.MinDataRate = null;
            }
        }
        else if (string.Equals(path, UploadStatePath, StringComparison.OrdinalIgnoreCase))
        {
            // A member's whole state, asked of it: sized by the run (the upload takes no more than the
            // model's buffers hold, and only from the member asked), so no total limit; the rate one stays.
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                size.MaxRequestBodySize = null;
            }
        }
        else if (await AnnouncedMessageBytes(context) is > ControlBodyBytes and var announced)
        {
            // Every other call is one small message under Kestrel's body limit (ControlBodyBytes), which
            // would stop this one too, but as a handler error; this says what is wrong.
            Refuse(context, StatusCode.ResourceExhausted, $"A {announced}-byte message is over the {ControlBodyBytes} bytes a control call may send.",
                $"a {announced}-byte message, over the control-call limit of {ControlBodyBytes} bytes");
            return;
        }
        await next(context);
    }

    /// <summary>
    /// The length in the first gRPC message's 5-byte prefix, left unread for the handler. The wait is
    /// bounded by Kestrel's minimum request body data rate.
    /// </summary>
    private static async Task<long?> AnnouncedMessageBytes(HttpContext context)
    {
        var reader = context.Request.BodyReader;
        var read = await reader.ReadAtLeastAsync(5, context.RequestAborted);
        long? announced = read.Buffer.Length >= 5 ? BinaryPrimitives.ReadUInt32BigEndian(read.Buffer.Slice(1, 4).ToArray()) : null;
        reader.AdvanceTo(read.Buffer.Start);
        return announced;
    }

    /// <summary>A gRPC trailers-only response (the status in the headers, no body, the stream ended) and a log line.</summary>
    private void Refuse(HttpContext context, StatusCode status, string message, string problem)
    {
        log.LogWarning("Refused {Method} from {Peer}: {Problem}", context.Request.Path.ToString(),
            $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}", problem);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/grpc";
        context.Response.Headers["grpc-status"] = ((int)status).ToString(CultureInfo.InvariantCulture);
        // grpc-message is percent-encoded on the wire; these texts have nothing that needs it.
        context.Response.Headers["grpc-message"] = message;
    }
}

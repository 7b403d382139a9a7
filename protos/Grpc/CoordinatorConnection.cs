using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Distributed.Protocol.V1;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace Distributed.Protocol;

/// <summary>
/// The one client of the distributed.v1 wire protocol: a gRPC channel to the coordinator (plain
/// HTTP/2, or TLS with an optional private CA and client certificate) whose every call carries the
/// run token and, once this client has joined, the worker secret the coordinator handed it.
/// </summary>
public sealed class CoordinatorConnection : IDisposable
{
    /// <summary>
    /// The largest message either side sends: a gradient bucket (reduced buckets, state and shard
    /// chunks are no larger), plus room for its few small fields.
    /// </summary>
    public const int MaxMessageBytes = DistributedBuckets.Elements * sizeof(float) + 4096;

    private readonly GrpcChannel _channel;
    private readonly ClientTls? _tls;
    private volatile string? _workerSecret;
    private volatile string? _certificateProblem;
    private volatile bool _certificateAccepted;

    /// <param name="keepAliveTimeout">How long an HTTP/2 ping may go unanswered before the connection counts as dead.</param>
    public CoordinatorConnection(Uri address, string token, ClientTls? tls = null, TimeSpan? keepAliveTimeout = null)
    {
        if (tls is not null && address.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"TLS settings need an https:// coordinator address, not {address}.");
        }
        (Address, _tls) = (address, tls);
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            // HTTP/2 pings notice a dead connection even while a stream waits for data.
            KeepAlivePingDelay = TimeSpan.FromSeconds(5),
            KeepAlivePingTimeout = keepAliveTimeout ?? TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            EnableMultipleHttp2Connections = true,
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = CheckCoordinatorCertificate },
        };
        if (tls?.Certificate is { } certificate)
        {
            // Offered whatever CAs the coordinator names: it checks the certificate against its --client-ca itself.
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate;
        }
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = MaxMessageBytes });
        Client = new Coordinator.CoordinatorClient(_channel.Intercept(new Credentials(this, token)));
    }

    public Uri Address { get; }

    /// <summary>scheme://host:port, as a user would type it.</summary>
    public string Origin => $"{Address.Scheme}://{Address.Authority}";

    public Coordinator.CoordinatorClient Client { get; }

    /// <summary>
    /// Why a call could not reach the coordinator, in a few words: "connection refused", or for a
    /// TLS failure the reason and its fix.
    /// </summary>
    public string Describe(Exception e)
    {
        var causes = Causes(e).ToList();
        if (TlsProblem(causes) is { } tls)
        {
            return tls;
        }
        if (causes.OfType<SocketException>().FirstOrDefault() is { } socket)
        {
            return socket.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "connection refused",
                SocketError.TimedOut => "connection timed out",
                SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData => $"host {Address.Host} not found",
                SocketError.NetworkUnreachable or SocketError.HostUnreachable => "no route to the host",
                _ => socket.Message,
            };
        }
        if (causes.OfType<HttpRequestException>().FirstOrDefault() is { } http)
        {
            return http.HttpRequestError == HttpRequestError.NameResolutionError
                ? $"host {Address.Host} not found"
                : Address.Scheme == Uri.UriSchemeHttp
                    ? "the coordinator closed the connection during the HTTP/2 handshake; if it serves TLS (serve --tls-cert), use https://"
                    : http.Message;
        }
        return e is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : e.Message;
    }

    /// <summary>True when the TLS handshake failed: trying again will not help until the certificates change.</summary>
    public bool IsTlsFailure(Exception e) => TlsProblem(Causes(e).ToList()) is not null;

    private string? TlsProblem(List<Exception> causes)
    {
        if (Address.Scheme != Uri.UriSchemeHttps)
        {
            return null;
        }
        var handshake = causes.OfType<AuthenticationException>().FirstOrDefault();
        if (handshake is not null || causes.OfType<HttpRequestException>().Any(h => h.HttpRequestError == HttpRequestError.SecureConnectionError))
        {
            return _certificateProblem
                   ?? $"the TLS handshake failed ({handshake?.Message ?? causes[^1].Message}); is the coordinator serving TLS (serve --tls-cert)? If not, use http://";
        }
        // With TLS 1.3 the client finishes its handshake before the server has checked the client's
        // certificate: a refusal shows up as a connection closed before any HTTP/2 frame.
        if (_certificateAccepted && causes.OfType<HttpRequestException>().Any() && !causes.OfType<SocketException>().Any())
        {
            return _tls?.Certificate is null
                ? "the coordinator closed the connection after the TLS handshake: it requires a client certificate; pass --tls-cert FILE.pem --tls-key FILE.pem signed by its --client-ca"
                : "the coordinator refused this worker's client certificate (closed the connection after the TLS handshake); pass --tls-cert and --tls-key of a certificate signed by its --client-ca";
        }
        return null;
    }

    private static IEnumerable<Exception> Causes(Exception e)
    {
        for (Exception? cause = e; cause is not null; cause = cause is RpcException rpc ? rpc.Status.DebugException ?? rpc.InnerException : cause.InnerException)
        {
            yield return cause;
        }
    }

    private bool CheckCoordinatorCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        string? problem;
        if (certificate is null)
        {
            problem = "the coordinator sent no TLS certificate";
        }
        else if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            problem = $"the coordinator's certificate ({certificate.Subject}) is not issued for {Address.Host}; connect by a name or address the certificate lists";
        }
        else if (_tls?.TrustedCa is { } ca)
        {
            problem = TlsFiles.TrustProblem((X509Certificate2)certificate, chain, ca, TlsFiles.ServerAuthentication) is { } status
                ? $"the coordinator's certificate ({certificate.Subject}) is not signed by the --ca given ({status}); pass the CA that issued it"
                : null;
        }
        else
        {
            problem = errors == SslPolicyErrors.None
                ? null
                : $"the coordinator's certificate ({certificate.Subject}) is not trusted by this machine ({string.Join(", ", chain?.ChainStatus.Select(s => s.Status).Distinct() ?? [])}); pass --ca FILE.pem with the CA that signed it";
        }
        _certificateProblem = problem;
        _certificateAccepted = problem is null;
        return problem is null;
    }

    public void Dispose() => _channel.Dispose();

    /// <summary>Adds the run token, and the worker secret once Join has returned one, to every call.</summary>
    private sealed class Credentials(CoordinatorConnection connection, string token) : Interceptor
    {
        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            var call = continuation(request, WithCredentials(context));
            return typeof(TResponse) == typeof(JoinReply)
                ? new AsyncUnaryCall<TResponse>(RememberSecret(call.ResponseAsync), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose)
                : call;
        }

        public override TResponse BlockingUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            var reply = continuation(request, WithCredentials(context));
            Remember(reply);
            return reply;
        }

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(TRequest request,
            ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
            => continuation(request, WithCredentials(context));

        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
            ClientInterceptorContext<TRequest, TResponse> context, AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation)
            => continuation(WithCredentials(context));

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
            ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
            => continuation(WithCredentials(context));

        private ClientInterceptorContext<TRequest, TResponse> WithCredentials<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
            where TRequest : class where TResponse : class
        {
            var headers = new Metadata();
            foreach (var entry in context.Options.Headers ?? [])
            {
                headers.Add(entry);
            }
            headers.Add(RunToken.Header, token);
            if (connection._workerSecret is { } secret)
            {
                headers.Add(RunToken.WorkerSecretHeader, secret);
            }
            return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithHeaders(headers));
        }

        private async Task<TResponse> RememberSecret<TResponse>(Task<TResponse> reply)
        {
            var response = await reply.ConfigureAwait(false);
            Remember(response);
            return response;
        }

        private void Remember<TResponse>(TResponse response)
        {
            if (response is JoinReply { WorkerSecret.Length: > 0 } join)
            {
                connection._workerSecret = join.WorkerSecret;
            }
        }
    }
}

using System.Net;
using Distributed.Protocol;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;

namespace Distributed.Coordinator.Distributed;

/// <summary>
/// Hosts the run's gRPC service and grpc.health.v1 on Kestrel (HTTP/2, cleartext or TLS), behind the
/// run token check, with every resource a stranger could tie up bounded.
/// </summary>
public static class CoordinatorHost
{
    /// <summary>Kestrel's HTTP/2 windows: the one setting that measurably helped gRPC throughput here.</summary>
    private const int WindowBytes = 16 << 20;

    public static async Task<WebApplication> StartAsync(DistributedRun run, string token, CoordinatorEndpoint endpoint, CancellationToken cancel)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (endpoint.Loggers is { } loggers)
        {
            builder.Logging.AddProvider(new Commands.ForwardingLoggerProvider(loggers));
        }
        else
        {
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        }
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning)
            // "Unhealthy: the run is over" is the health service doing its job at the end of a run, not an error to show.
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None);
        builder.WebHost.ConfigureKestrel(kestrel => Configure(kestrel, endpoint));
        builder.Services.AddSingleton(run);
        builder.Services.AddSingleton(new ReducedReplies((int)run.Replica.Layout.TotalLength, run.Config.AllReduceDtype));
        var sharedMemory = SharedMemoryPlane.Create(run.RunId, run.Replica.Layout.TotalLength, endpoint.SharedMemory,
            (endpoint.Loggers ?? NullLoggerFactory.Instance).CreateLogger<SharedMemoryPlane>());
        builder.Services.AddSingleton(sharedMemory);
        run.MirrorReduced(sharedMemory);
        // Cleartext only: under TLS remote workers' gradients stay on the (encrypted) gRPC stream.
        var tcp = TcpDataPlane.Create(endpoint.Address, endpoint.DataPort, endpoint.TcpDataPlane && endpoint.Tls is null, run.Options.Timeout,
            (endpoint.Loggers ?? NullLoggerFactory.Instance).CreateLogger<TcpDataPlane>());
        builder.Services.AddSingleton(tcp);
        builder.Services.AddSingleton(new TcpReducedValues((int)run.Replica.Layout.TotalLength));
        builder.Services.AddGrpc(options =>
        {
            options.Interceptors.Add<RefusalInterceptor>();
            options.MaxReceiveMessageSize = CoordinatorConnection.MaxMessageBytes;
            // No compressed messages: a gzip bomb would get round the control calls' 64 KiB body limit.
            options.CompressionProviders = [];
        });
        builder.Services.AddGrpcHealthChecks(health => health.Services.Map(HealthServices.Liveness, check => check.Name == HealthServices.Liveness))
            .AddCheck(HealthServices.Liveness, () => HealthCheckResult.Healthy())
            .AddCheck("run", () => run.Completion.IsCompleted ? HealthCheckResult.Unhealthy("the run is over") : HealthCheckResult.Healthy());   // no lock: probes need no token
        var app = builder.Build();
        if (endpoint.Tls is null && !IPAddress.IsLoopback(endpoint.Address))
        {
            app.Logger.LogWarning("Listening on {Address} without TLS: the run token, gradients and weights cross the network in the clear; " +
                                  "pass --tls-cert FILE.pem --tls-key FILE.pem, or --bind 127.0.0.1", endpoint.Address);
        }
        // Before routing: the token is checked on the headers of every request, whatever it is routed to.
        app.UseMiddleware<RunTokenMiddleware>(token, endpoint.HealthPort ?? 0);
        app.UseRouting();
        app.MapGrpcService<CoordinatorService>();
        app.MapGrpcHealthChecksService();
        app.Lifetime.ApplicationStopped.Register(sharedMemory.Dispose);   // its files are RAM: deleted with the host
        app.Lifetime.ApplicationStopped.Register(tcp.Dispose);
        if (endpoint.TcpDataPlane && endpoint.Tls is not null)
        {
            app.Logger.LogInformation("No tcp data plane under TLS: gradients of workers on other hosts go over gRPC");
        }
        await app.StartAsync(cancel);
        return app;
    }

    /// <summary>HTTP/2 on one address (TLS if configured), large flow-control windows, bounded connections and headers.</summary>
    public static void Configure(KestrelServerOptions kestrel, CoordinatorEndpoint endpoint)
    {
        kestrel.Listen(endpoint.Address, endpoint.Port, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            if (endpoint.Tls is { } tls)
            {
                var log = kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ServerTls));
                listen.UseHttps(https => tls.Apply(https, log));
            }
        });
        if (endpoint.HealthPort is { } healthPort)
        {
            // Always cleartext: the run token middleware lets nothing but health Check through this port.
            kestrel.Listen(endpoint.Address, healthPort, listen => listen.Protocols = HttpProtocols.Http2);
        }
        kestrel.AddServerHeader = false;
        kestrel.Limits.Http2.InitialConnectionWindowSize = WindowBytes;
        kestrel.Limits.Http2.InitialStreamWindowSize = WindowBytes;
        // A worker machine that vanishes sends no FIN: pings close its connection, so the streaming calls
        // it left open (an all-reduce, a state download) end instead of waiting on it for good.
        kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(10);
        kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
        // What a stranger can hold: connections, streams on each, and header bytes (HTTP/2 counts them
        // per stream), each sent within the headers timeout. A worker has a handful of calls open and
        // sends well under 1 KiB of headers.
        kestrel.Limits.MaxConcurrentConnections = endpoint.MaxConnections;
        kestrel.Limits.Http2.MaxStreamsPerConnection = 32;
        kestrel.Limits.MaxRequestHeadersTotalSize = 8 << 10;
        kestrel.Limits.Http2.MaxRequestHeaderFieldSize = 4 << 10;
        kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
        // The minimum body data rate stays Kestrel's (240 B/s after a 5 s grace); the token check lifts both for AllReduce.
        kestrel.Limits.MaxRequestBodySize = RunTokenMiddleware.ControlBodyBytes;
    }

    /// <summary>The port Kestrel actually bound for the run (useful with port 0): not the health port, if there is one.</summary>
    public static int BoundPort(WebApplication app, int? healthPort = null)
        => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(address => new Uri(address).Port).First(port => port != healthPort);
}

using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Distributed.Coordinator.Distributed;

/// <summary>Hosts the run's gRPC service and grpc.health.v1 on Kestrel (HTTP/2 without TLS).</summary>
public static class CoordinatorHost
{
    /// <summary>Kestrel's HTTP/2 windows: the one setting that measurably helped gRPC throughput here.</summary>
    private const int WindowBytes = 16 << 20;

    public static async Task<WebApplication> StartAsync(DistributedRun run, string token, IPAddress address, int port, CancellationToken cancel)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => Configure(kestrel, address, port));
        builder.Services.AddSingleton(run);
        builder.Services.AddSingleton(new ReducedReplies((int)run.Replica.Layout.TotalLength));
        builder.Services.AddSingleton(new RunTokenSecret(token));
        builder.Services.AddGrpc(options =>
        {
            options.Interceptors.Add<RunTokenInterceptor>();
            options.Interceptors.Add<RefusalInterceptor>();
            options.MaxReceiveMessageSize = 16 << 20;
        });
        builder.Services.AddGrpcHealthChecks()
            .AddCheck("run", () => run.Phase == RunPhase.Done ? HealthCheckResult.Unhealthy("the run is over") : HealthCheckResult.Healthy());
        var app = builder.Build();
        app.MapGrpcService<CoordinatorService>();
        app.MapGrpcHealthChecksService();
        await app.StartAsync(cancel);
        return app;
    }

    /// <summary>HTTP/2 without TLS on one address, with large flow-control windows.</summary>
    public static void Configure(KestrelServerOptions kestrel, IPAddress address, int port)
    {
        kestrel.Listen(address, port, listen => listen.Protocols = HttpProtocols.Http2);
        kestrel.Limits.Http2.InitialConnectionWindowSize = WindowBytes;
        kestrel.Limits.Http2.InitialStreamWindowSize = WindowBytes;
        // A worker machine that vanishes sends no FIN: pings close its connection, so the streaming calls
        // it left open (an all-reduce, a state download) end instead of waiting on it for good.
        kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(10);
        kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
    }

    /// <summary>The port Kestrel actually bound (useful with port 0).</summary>
    public static int BoundPort(WebApplication app)
        => new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
}

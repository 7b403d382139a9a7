using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Distributed.Protocol;

/// <summary>
/// `--metrics-port`: a registry's metrics in Prometheus text format at GET /metrics, on a cleartext
/// HTTP/1.1 listener of its own (Prometheus scrapes plain HTTP and carries no run token, so this is
/// never the gRPC port). A caller may add other GET pages beside it (the coordinator's dashboard at /);
/// every other path or method is 404. It shows no secrets: the run's progress and timings only.
/// </summary>
public sealed class MetricsListener : IAsyncDisposable
{
    public const string Path = "/metrics";

    /// <summary>The Prometheus text exposition format, version 0.0.4 (what prometheus-net writes).</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly WebApplication _app;

    private MetricsListener(WebApplication app, Uri root) => (_app, Root, Url) = (app, root, new Uri(root, Path));

    /// <summary>http://HOST:PORT/ with the port actually bound (port 0: any free one); 0.0.0.0 and :: shown as loopback.</summary>
    public Uri Root { get; }

    /// <summary>http://HOST:PORT/metrics.</summary>
    public Uri Url { get; }

    /// <summary>Listens on <paramref name="address"/>:<paramref name="port"/>; an <see cref="ArgumentException"/> naming <paramref name="option"/> when the port is taken.</summary>
    /// <param name="registry">What /metrics exports; null: no /metrics (a sweep's dashboard alone).</param>
    /// <param name="pages">Other GET paths answered beside /metrics (e.g. "/" and "/api/run"); null: none.</param>
    public static async Task<MetricsListener> StartAsync(IPAddress address, int port, CollectorRegistry? registry, string option, CancellationToken cancel,
        IReadOnlyDictionary<string, RequestDelegate>? pages = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(address, port, listen => listen.Protocols = HttpProtocols.Http1);
            kestrel.AddServerHeader = false;
            // A scraper holds a keep-alive connection or two and a browser up to six; a few hundred bytes of headers, no body.
            kestrel.Limits.MaxConcurrentConnections = 32;
            kestrel.Limits.MaxRequestHeadersTotalSize = 8 << 10;
            kestrel.Limits.MaxRequestBodySize = 0;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
        });
        var app = builder.Build();
        app.Run(context => Answer(context, registry, pages));
        try
        {
            await app.StartAsync(cancel);
        }
        catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            await app.DisposeAsync();
            throw new ArgumentException($"{option} {port} is in use on {address}; pick another port, or 0 for any free one.", e);
        }
        var bound = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        var shown = address.Equals(IPAddress.Any) ? IPAddress.Loopback : address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : address;
        return new MetricsListener(app, new Uri($"http://{new IPEndPoint(shown, bound)}/"));
    }

    private static async Task Answer(HttpContext context, CollectorRegistry? registry, IReadOnlyDictionary<string, RequestDelegate>? pages)
    {
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        if (context.Request.Path != Path || registry is null)
        {
            if (pages?.GetValueOrDefault(context.Request.Path.Value ?? "") is { } page)
            {
                await page(context);
            }
            else
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
            }
            return;
        }
        context.Response.ContentType = ContentType;
        await registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
    }

    /// <summary>Stops listening; a scrape still being answered gets a few seconds to finish.</summary>
    public async ValueTask DisposeAsync()
    {
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(grace.Token);
        await _app.DisposeAsync();
    }
}

using System.Reflection;
using System.Text.Json;
using Distributed.Models.Training;

namespace Distributed.Coordinator.Dashboard;

/// <summary>
/// The dashboard's HTTP side, served beside /metrics by <see cref="Protocol.MetricsListener"/>: GET / is
/// the page (one HTML file with its script and style, shipped inside the binary: no CDN, the machines may
/// be offline), GET /api/run the board's snapshot as JSON, which the page polls every second.
/// </summary>
public static class DashboardPages
{
    public const string ApiPath = "/api/run";

    private const string PageResource = "dashboard.html";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new UnknownAsNull() },
    };

    private static readonly Lazy<byte[]> Page = new(() =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(PageResource)
            ?? throw new InvalidOperationException($"The coordinator was built without its {PageResource} resource.");
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    });

    /// <summary>The pages for <see cref="Protocol.MetricsListener.StartAsync"/>, reading <paramref name="snapshot"/> at every poll.</summary>
    public static IReadOnlyDictionary<string, RequestDelegate> For(Func<DashboardSnapshot> snapshot) => new Dictionary<string, RequestDelegate>
    {
        ["/"] = context => Answer(context, "text/html; charset=utf-8", Page.Value),
        [ApiPath] = context => Answer(context, "application/json; charset=utf-8", JsonSerializer.SerializeToUtf8Bytes(snapshot(), Json)),
    };

    private static Task Answer(HttpContext context, string contentType, byte[] body)
    {
        var response = context.Response;
        response.ContentType = contentType;
        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";
        // The page runs only its own inline script and talks only to this listener.
        response.Headers.ContentSecurityPolicy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:";
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }
}

/// <summary>What GET /api/run returns: the run (a sweep's: one of its running trials; null between trials), and a sweep's trials (null for a single run).</summary>
public sealed record DashboardSnapshot(RunSnapshot? Run, IReadOnlyList<TrialView>? Trials);

/// <summary>One row of a sweep's trials table.</summary>
/// <param name="Step">The running attempt's step (0 when not running), of <paramref name="TotalSteps"/>.</param>
/// <param name="TrainLoss">The running attempt's last step loss; NaN when not running.</param>
/// <param name="BestValLoss">The best validation loss recorded so far; NaN before the first.</param>
public sealed record TrialView(int Index, string Params, string Status, int Step, int TotalSteps, double TrainLoss, double BestValLoss);

using System.Net;
using System.Text.Json;
using Distributed.Tests.Browser;
using Microsoft.Playwright;

namespace Distributed.Tests.Cluster;

/// <summary>
/// The live dashboard of real runs, as a person sees it: the coordinator prints its address at start
/// (on by default), and in a real (headless) Chromium the loss chart of a `serve` run with two workers
/// has points and gains more while the run trains, and the workers table lists both ranks; GET /api/run
/// of a `train --workers 2` has the numbers behind it.
/// </summary>
public sealed class DashboardTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    // Long enough that the test stops it while it trains; an evaluation every 40 steps.
    private readonly ClusterRun _run = new(new Models.GptConfig
    {
        NumLayers = 1, NumHeads = 2, EmbeddingSize = 16, MaxSequenceLength = 8, BatchSize = 8,
        LearningRate = 3e-3, MinLearningRate = 3e-4, WarmupSteps = 5, NumEpochs = 1000, MaxSteps = 100_000, EvalInterval = 40, Dropout = 0,
    });

    public void Dispose() => _run.Dispose();

    [ChromiumFact]
    public async Task The_page_of_a_serve_run_shows_a_loss_chart_that_grows_and_the_workers_while_the_run_trains()
    {
        // No --metrics-port: the dashboard is on by default, on any free port.
        var port = ClusterProcess.FreePort();
        using var coordinator = ClusterProcess.Coordinator(_run.Token, ["serve", "--port", port.ToString(), "--workers", "2", .. _run.RunArguments("run")]);
        var url = (await coordinator.WaitFor(@"Dashboard: (http://127\.0\.0\.1:\d+/)", Patience)).Groups[1].Value;
        await coordinator.WaitFor($@"Metrics: {url.Replace(".", @"\.")}metrics", Patience);   // the same port
        using var alpha = ClusterProcess.Worker(_run.Token, port, 0, "alpha");
        using var beta = ClusterProcess.Worker(_run.Token, port, 0, "beta");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Chromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        await page.GotoAsync(url, new PageGotoOptions { Timeout = (float)Patience.TotalMilliseconds });

        // Functions, not expressions: the page's Content-Security-Policy forbids eval, which Playwright would use for an expression.
        const string trainPoints = "document.querySelector('#loss-chart polyline.train').points.numberOfItems";
        var waitAtMost = new PageWaitForFunctionOptions { Timeout = (float)Patience.TotalMilliseconds, PollingInterval = 200 };
        await page.WaitForFunctionAsync($"() => {trainPoints} >= 2", null, waitAtMost);
        var first = await page.EvaluateAsync<int>($"() => {trainPoints}");
        await page.WaitForFunctionAsync($"n => {trainPoints} > n", first, waitAtMost);
        Assert.True(await page.EvaluateAsync<int>($"() => {trainPoints}") > first);

        // Both ranks, over the local workers' data plane, healthy; and the run's numbers in the tiles.
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#workers tbody tr').length === 2 && document.querySelector('#workers tbody td').textContent !== '-'",
            null, waitAtMost);
        var rows = await page.Locator("#workers tbody tr").AllAsync();
        var cells = new List<IReadOnlyList<string>>();
        foreach (var row in rows)
        {
            cells.Add(await row.Locator("td").AllTextContentsAsync());
        }
        Assert.Equal(["0", "1"], cells.Select(c => c[0]).Order());
        Assert.Equal(["alpha", "beta"], cells.Select(c => c[1]).Order());
        Assert.All(cells, c => Assert.Equal(("127.0.0.1", "shared-memory", "ok"), (c[2], c[4], c[7])));
        Assert.Contains(await page.TextContentAsync("#phase"), new[] { "training", "validating" });   // an evaluation every 40 steps
        Assert.Matches(@"^\d+ / 100000$", await page.TextContentAsync("#step") ?? "");
        Assert.Empty(errors);

        coordinator.Terminate();
        Assert.Equal(0, await coordinator.WaitForExit(Patience));
    }

    [Fact]
    public async Task The_snapshot_reports_progress_speed_curves_and_workers_as_json()
    {
        using var coordinator = ClusterProcess.Coordinator(_run.Token, ["train", "--workers", "2", "--threads", "1", .. _run.RunArguments("run")]);
        var url = (await coordinator.WaitFor(@"Dashboard: (http://127\.0\.0\.1:\d+/)", Patience)).Groups[1].Value;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        // After the first evaluation (step 40), while steps keep closing.
        var giveUp = DateTime.UtcNow + Patience;
        JsonElement run;
        do
        {
            Assert.True(DateTime.UtcNow < giveUp && !coordinator.HasExited, $"No evaluation on the dashboard within {Patience.TotalSeconds} s. Output:\n{coordinator.Output}");
            await Task.Delay(200);
            run = JsonDocument.Parse(await http.GetStringAsync(url + "api/run")).RootElement.GetProperty("run");
        }
        while (run.GetProperty("validation").GetProperty("steps").GetArrayLength() == 0 || run.GetProperty("tokens_per_second").ValueKind != JsonValueKind.Number);

        var step = run.GetProperty("step").GetInt32();
        Assert.Equal(100_000, run.GetProperty("total_steps").GetInt32());
        Assert.Equal(40, run.GetProperty("validation").GetProperty("steps")[0].GetInt32());
        Assert.InRange(run.GetProperty("validation").GetProperty("losses")[0].GetDouble(), 0.1, 10);
        var trained = run.GetProperty("train").GetProperty("steps");
        Assert.Equal(step, trained[trained.GetArrayLength() - 1].GetInt32());
        Assert.Equal((long)step * 8 * 8, run.GetProperty("tokens").GetInt64());
        Assert.True(run.GetProperty("tokens_per_second").GetDouble() > 0);
        // ETA: the steps left at the recent pace, so far more than the time the first steps took.
        Assert.True(run.GetProperty("eta_seconds").GetDouble() > run.GetProperty("elapsed_seconds").GetDouble());
        Assert.Equal(2, run.GetProperty("workers").GetArrayLength());
        Assert.All(run.GetProperty("workers").EnumerateArray(), w => Assert.True(w.GetProperty("step_seconds").GetDouble() > 0));

        var reply = await http.GetAsync(url);
        Assert.Equal("text/html; charset=utf-8", reply.Content.Headers.ContentType?.ToString());
        Assert.DoesNotContain("http", (await reply.Content.ReadAsStringAsync()).Replace("http://www.w3.org/2000/svg", ""));   // nothing fetched from elsewhere
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(url + "api/other")).StatusCode);

        coordinator.Terminate();
        Assert.Equal(0, await coordinator.WaitForExit(Patience));
    }
}

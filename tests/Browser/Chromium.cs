using Microsoft.Playwright;

namespace Distributed.Tests.Browser;

/// <summary>
/// Debian's `chromium` (.ci/run installs it), driven headless by Playwright: Playwright's own browser
/// builds cannot be downloaded here, so it is pointed at the system's executable.
/// </summary>
internal static class Chromium
{
    /// <summary>chromium on the PATH; null when it is not installed.</summary>
    public static string? Path { get; } = SystemTool.Find("chromium");

    /// <summary>Why a test that needs chromium is skipped here; null when it runs (always under CI).</summary>
    public static string? Missing => SystemTool.Missing(Path, "chromium is not installed: apt-get install -y --no-install-recommends chromium (Debian), as .ci/run does");

    /// <summary>A headless chromium with nothing of its own going to the network (no updates, sync or QUIC probes).</summary>
    public static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = Path ?? throw new InvalidOperationException("chromium is not installed: apt-get install -y --no-install-recommends chromium"),
        Headless = true,
        Timeout = 60_000,
        Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"],
    });
}

/// <summary>A fact that needs chromium: skipped, with the reason, where it is not installed (but not under CI).</summary>
internal sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute() => Skip = Chromium.Missing;
}

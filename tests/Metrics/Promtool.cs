using System.Diagnostics;

namespace Distributed.Tests.Metrics;

/// <summary>
/// Prometheus' own checker, `promtool check metrics` (Debian's package prometheus; .ci/run installs it):
/// an exposition Prometheus would reject or that breaks its naming conventions fails.
/// </summary>
internal static class Promtool
{
    /// <summary>promtool on the PATH; null when it is not installed.</summary>
    public static string? Path { get; } = SystemTool.Find("promtool");

    /// <summary>Why a test that needs promtool is skipped here; null when it runs (always under CI).</summary>
    public static string? Missing => SystemTool.Missing(Path, "promtool is not installed: apt-get install -y --no-install-recommends prometheus (Debian), as .ci/run does");

    /// <summary>What promtool says about <paramref name="exposition"/>: its exit code and everything it printed (nothing for a clean one).</summary>
    public static (int ExitCode, string Output) CheckMetrics(string exposition)
    {
        var start = new ProcessStartInfo(Path ?? throw new InvalidOperationException("promtool is not installed: apt-get install -y --no-install-recommends prometheus"))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("check");
        start.ArgumentList.Add("metrics");
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(exposition);
        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            process.Kill();
            throw new TimeoutException("promtool check metrics did not finish within 30 s.");
        }
        return (process.ExitCode, (output.Result + errors.Result).Trim());
    }
}

/// <summary>A fact that needs promtool: skipped, with the reason, where it is not installed (but not under CI).</summary>
internal sealed class PromtoolFactAttribute : FactAttribute
{
    public PromtoolFactAttribute() => Skip = Promtool.Missing;
}

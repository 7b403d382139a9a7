using System.Globalization;

namespace Distributed.Tests.Metrics;

/// <summary>
/// The samples of a Prometheus text exposition (format 0.0.4), by series: `name` or `name{label="value",...}`
/// exactly as written. Comments (# HELP, # TYPE) are left out; promtool checks those (<see cref="Promtool"/>).
/// </summary>
internal sealed class PrometheusText
{
    private readonly Dictionary<string, double> _samples = [];

    public PrometheusText(string text)
    {
        Text = text;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }
            // "series value" or "series value timestamp"; label values here hold no spaces.
            var parts = line.Split(' ');
            _samples[parts[0]] = double.Parse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture);
        }
    }

    public string Text { get; }

    public IReadOnlyCollection<string> Series => _samples.Keys;

    /// <summary>The sample of <paramref name="series"/>; fails the test, showing the exposition, when there is none.</summary>
    public double this[string series]
        => _samples.TryGetValue(series, out var value) ? value : throw new Xunit.Sdk.XunitException($"No sample '{series}' in:\n{Text}");
}

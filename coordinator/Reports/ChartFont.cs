using ScottPlot;
using SkiaSharp;

namespace Distributed.Coordinator.Reports;

/// <summary>
/// Picks a sans-serif font for chart text. ScottPlot looks for Open Sans or Segoe UI, and on a
/// Linux machine with neither it falls back to a serif face, which reads poorly at tick-label size.
/// </summary>
public static class ChartFont
{
    private static readonly string[] Preferred = ["Open Sans", "Segoe UI", "Arial", "Helvetica", "DejaVu Sans", "Liberation Sans", "Noto Sans"];

    private static readonly Lazy<string?> Installed = new(() =>
    {
        var families = SKFontManager.Default.GetFontFamilies().ToHashSet(StringComparer.OrdinalIgnoreCase);
        return Preferred.FirstOrDefault(families.Contains);
    });

    public static void Apply(Plot plot)
    {
        if (Installed.Value is not { } name) return;
        plot.Font.Set(name);
        // The legend otherwise re-picks a font for its text at every render (ScottPlot's default,
        // the serif one), undoing the line above for manually built legends.
        plot.Legend.SetBestFontOnEachRender = false;
        plot.Legend.FontName = name;
    }
}

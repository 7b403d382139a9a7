using Distributed.Models.Checkpoints;
using Distributed.Models;
using ScottPlot;

namespace Distributed.Coordinator.Reports;

/// <summary>What every report chart shares: its size, its colours and how it is saved.</summary>
public static class ChartFile
{
    public const int Width = 1000;
    public const int Height = 600;

    /// <summary>
    /// Renders off-screen to PNG bytes, then writes them atomically, so a viewer refreshing the
    /// folder during a sweep never opens a truncated image.
    /// </summary>
    public static void SavePng(Plot plot, string path)
    {
        // Last, so it reaches every label the chart has by now (axes, title, legend, notes).
        ChartFont.Apply(plot);
        var png = plot.GetImageBytes(Width, Height, ImageFormat.Png);
        AtomicFile.Write(path, png);
    }

    /// <summary>
    /// A colour per trial, stable across charts. Category10 is the most distinguishable set; past 10
    /// trials Category20 adds lighter shades rather than repeating colours.
    /// </summary>
    public static Color TrialColor(int position, int count)
    {
        IPalette palette = count <= 10 ? new ScottPlot.Palettes.Category10() : new ScottPlot.Palettes.Category20();
        return palette.GetColor(position);
    }

    /// <summary>A note in the middle of an empty chart, so "no data" is not mistaken for a rendering bug.</summary>
    public static void AddEmptyNote(Plot plot, string message)
    {
        var text = plot.Add.Text(message, 0, 0);
        text.LabelFontSize = 18;
        text.LabelAlignment = Alignment.MiddleCenter;
        plot.Axes.SetLimits(-1, 1, -1, 1);
        // Numbers on an axis with nothing plotted would look like data.
        plot.Axes.Bottom.SetTicks([], []);
        plot.Axes.Left.SetTicks([], []);
        plot.HideGrid();
    }
}

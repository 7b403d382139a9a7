namespace Distributed.Coordinator.Reports;

/// <summary>How a swept field's values are laid out along a chart's x axis.</summary>
public enum FieldAxisKind { Linear, Log, Categorical }

/// <summary>
/// Places a swept field's values on an x axis: numbers as they are, numbers spanning more than a
/// decade on a log scale, anything else (activation = gelu | relu) as evenly spaced categories.
/// </summary>
public sealed class FieldAxis
{
    public FieldAxisKind Kind { get; }
    public string Label { get; }
    /// <summary>Tick positions and labels to use instead of automatic ticks; null for automatic.</summary>
    public (double[] Positions, string[] Labels)? Ticks { get; }
    /// <summary>The x range to show (data plus a margin); null lets the plot autoscale.</summary>
    public (double Min, double Max)? Limits { get; }

    private readonly List<string> _categories;

    private FieldAxis(FieldAxisKind kind, string label, (double[], string[])? ticks, (double, double)? limits, List<string> categories)
    {
        Kind = kind;
        Label = label;
        Ticks = ticks;
        Limits = limits;
        _categories = categories;
    }

    /// <summary>Chooses the layout from the values the field took across the plotted trials.</summary>
    /// <param name="logScale">The field was searched on a log scale (log_uniform): a log axis whatever range the trials drew.</param>
    public static FieldAxis For(string field, IReadOnlyList<object> values, bool logScale = false)
    {
        var numbers = values.Select(ParamValue.AsNumber).ToList();
        if (values.Count == 0 || numbers.Any(n => n is null || !double.IsFinite(n.Value)))
            return Categorical(field, values);

        var min = numbers.Min(n => n!.Value);
        var max = numbers.Max(n => n!.Value);
        // learning_rate 1e-4..3e-3 crowds the small values into the left edge on a linear axis.
        if (min > 0 && (logScale || max / min > 10))
        {
            var (positions, labels) = LogTicks.For(min, max);
            var lo = Math.Log10(min);
            var hi = Math.Log10(max);
            // Padded by a share of the range, and by enough that a narrow draw still has its ticks in view.
            var pad = Math.Max((hi - lo) * 0.08, 0.1);
            return new FieldAxis(FieldAxisKind.Log, $"{field} (log scale)", (positions, labels), (lo - pad, hi + pad), []);
        }

        var distinct = numbers.Select(n => n!.Value).Distinct().Order().ToArray();
        // Whole-number fields (n_layer, batch_size) get ticks only at the values tried, so the axis
        // does not suggest 2.5 layers; capped so the labels cannot run into each other.
        if (values.All(ParamValue.IsInteger) && distinct.Length is > 0 and <= 12 && !Crowded(distinct))
        {
            var labels = distinct.Select(d => ParamValue.ToDisplayString((long)d)).ToArray();
            return new FieldAxis(FieldAxisKind.Linear, field, (distinct, labels), PaddedLimits(min, max), []);
        }
        return new FieldAxis(FieldAxisKind.Linear, field, null, PaddedLimits(min, max), []);
    }

    private static FieldAxis Categorical(string field, IReadOnlyList<object> values)
    {
        var categories = values.Select(ParamValue.ToDisplayString).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var positions = Enumerable.Range(0, categories.Count).Select(i => (double)i).ToArray();
        return new FieldAxis(FieldAxisKind.Categorical, field, (positions, categories.ToArray()), (-0.5, Math.Max(0, categories.Count - 1) + 0.5), categories);
    }

    /// <summary>Where a value goes on the x axis.</summary>
    public double Position(object value) => Kind switch
    {
        FieldAxisKind.Log => Math.Log10(ParamValue.AsNumber(value)!.Value),
        FieldAxisKind.Linear => ParamValue.AsNumber(value)!.Value,
        _ => _categories.IndexOf(ParamValue.ToDisplayString(value)),
    };

    // Two ticks closer than 1/25 of the range (about 35 px on a 1000 px chart) would overlap.
    private static bool Crowded(double[] sorted)
    {
        var span = sorted[^1] - sorted[0];
        for (var i = 1; i < sorted.Length; i++)
            if (sorted[i] - sorted[i - 1] < span / 25) return true;
        return false;
    }

    private static (double, double) PaddedLimits(double min, double max)
    {
        // A single value (or all equal) still needs a visible range around it.
        var pad = max > min ? (max - min) * 0.08 : Math.Max(Math.Abs(min) * 0.1, 0.5);
        return (min - pad, max + pad);
    }
}

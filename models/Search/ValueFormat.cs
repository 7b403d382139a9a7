using System.Globalization;

namespace Distributed.Models.Search;

/// <summary>Short text for swept values: readable in a log line, yet distinct for hand-written grid values.</summary>
internal static class ValueFormat
{
    public static string Describe(IEnumerable<KeyValuePair<string, object>> values) =>
        string.Join(" ", values.Select(v => $"{v.Key}={Format(v.Value)}"));

    public static string Format(object value) => value switch
    {
        double d => Short(d),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>
    /// The fewest significant digits (2 to 4) that read back as the same number, so 3e-4 and 0.105 show
    /// exactly; a sampled value like 0.123456 never does and shows with 2 digits, as 0.12.
    /// </summary>
    private static string Short(double value)
    {
        for (var digits = 2; digits <= 4; digits++)
        {
            var text = Short(value, digits);
            if (double.Parse(text, CultureInfo.InvariantCulture) == value)
            {
                return text;
            }
        }
        return Short(value, 2);
    }

    // Learning rates and the like read best as 3.1e-04; everyday magnitudes as plain decimals.
    private static string Short(double value, int digits)
    {
        if (value == 0 || !double.IsFinite(value))
        {
            return value.ToString(CultureInfo.InvariantCulture);
        }
        var magnitude = Math.Abs(value);
        if (magnitude < 1e-2 || magnitude >= 1e5)
        {
            return value.ToString("0." + new string('0', digits - 1) + "e+00", CultureInfo.InvariantCulture);
        }
        var decimals = Math.Max(0, digits - 1 - (int)Math.Floor(Math.Log10(magnitude)));
        var text = value.ToString("F" + decimals, CultureInfo.InvariantCulture);
        return text.Contains('.') ? text.TrimEnd('0').TrimEnd('.') : text;
    }
}

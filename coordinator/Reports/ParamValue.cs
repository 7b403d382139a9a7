using System.Globalization;
using System.Text.Json;

namespace Distributed.Coordinator.Reports;

/// <summary>
/// Reads swept-parameter values, which arrive boxed (double, long, string — or a JSON element when
/// they came straight from a sweep file), as numbers or text.
/// </summary>
public static class ParamValue
{
    /// <summary>The value as a double if it is numeric, else null.</summary>
    public static double? AsNumber(object? value) => value switch
    {
        double d => d,
        float f => f,
        long l => l,
        int i => i,
        short s => s,
        decimal m => (double)m,
        JsonElement { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
        _ => null,
    };

    /// <summary>True for whole-number types: their axes should not show 2.5 layers.</summary>
    public static bool IsInteger(object? value) => value switch
    {
        long or int or short => true,
        JsonElement { ValueKind: JsonValueKind.Number } e => e.TryGetInt64(out _),
        _ => false,
    };

    /// <summary>
    /// Full-precision, culture-independent text (for the CSV, which other tools read back):
    /// doubles use the shortest form that round-trips.
    /// </summary>
    public static string ToInvariantString(object? value) => value switch
    {
        null => "",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString() ?? "",
        JsonElement e => e.GetRawText(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>
    /// Short text for people (terminal tables, chart labels): up to 4 significant digits; small and large
    /// doubles (learning rates) with a lower-case two-digit exponent, as in "lr 9.86e-04".
    /// </summary>
    public static string ToDisplayString(object? value) => value switch
    {
        double d => Short(d),
        float f => Short(f),
        JsonElement { ValueKind: JsonValueKind.Number } e when !e.TryGetInt64(out _) => Short(e.GetDouble()),
        _ => ToInvariantString(value),
    };

    private static string Short(double value) =>
        value != 0 && double.IsFinite(value) && (Math.Abs(value) < 1e-2 || Math.Abs(value) >= 1e5)
            ? value.ToString("0.###e+00", CultureInfo.InvariantCulture)
            : value.ToString("g4", CultureInfo.InvariantCulture);
}

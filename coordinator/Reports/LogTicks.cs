using System.Globalization;

namespace Distributed.Coordinator.Reports;

/// <summary>
/// Tick marks for a log axis drawn as log10(value): positions in log space, labels in value space,
/// so the axis reads 1e-4, 3e-4, 1e-3 rather than -4, -3.5, -3.
/// </summary>
public static class LogTicks
{
    public static (double[] Positions, string[] Labels) For(double min, double max)
    {
        var lo = Math.Log10(min);
        var hi = Math.Log10(max);
        // Over a few decades 1-2-5 steps read best; over many, they would crowd — decades only.
        double[] mantissas = (hi - lo) switch
        {
            <= 1.5 => [1, 2, 3, 5, 7],
            <= 3 => [1, 2, 5],
            <= 6 => [1, 3],
            _ => [1],
        };

        // One label style for the whole axis: "0.001" next to "3e-4" reads as two different scales.
        var plain = Math.Floor(lo) >= -2 && Math.Ceiling(hi) <= 4;
        var positions = new List<double>();
        var labels = new List<string>();
        for (var exponent = (int)Math.Floor(lo); exponent <= (int)Math.Ceiling(hi); exponent++)
        {
            foreach (var mantissa in mantissas)
            {
                var value = mantissa * Math.Pow(10, exponent);
                var position = Math.Log10(value);
                // A little outside the data is fine (the axis is padded); far outside is wasted.
                if (position < lo - 0.15 || position > hi + 0.15) continue;
                positions.Add(position);
                labels.Add(Label(mantissa, exponent, plain));
            }
        }
        return (positions.ToArray(), labels.ToArray());
    }

    /// <summary>"0.01", "200" when <paramref name="plain"/>; "3e-4" otherwise, for ranges where zeros get hard to count.</summary>
    public static string Label(double mantissa, int exponent, bool plain)
    {
        if (plain)
            return (mantissa * Math.Pow(10, exponent)).ToString("0.##########", CultureInfo.InvariantCulture);
        return $"{mantissa.ToString(CultureInfo.InvariantCulture)}e{exponent.ToString(CultureInfo.InvariantCulture)}";
    }
}

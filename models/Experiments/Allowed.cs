namespace Distributed.Models.Experiments;

/// <summary>Argument checks for the store's vocabulary, so a typo fails with the list of valid values, not a CHECK constraint.</summary>
internal static class Allowed
{
    public static void Require(string value, string[] allowed, string paramName)
    {
        ArgumentNullException.ThrowIfNull(value, paramName);
        if (Array.IndexOf(allowed, value) < 0)
            throw new ArgumentException($"{paramName} must be one of {string.Join(", ", allowed.Select(a => $"'{a}'"))}; got '{value}'.", paramName);
    }

    public static void RequireSeconds(double seconds, string paramName)
    {
        if (!double.IsFinite(seconds) || seconds < 0)
            throw new ArgumentOutOfRangeException(paramName, seconds, "seconds must be finite and not negative.");
    }
}

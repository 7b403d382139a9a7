namespace Distributed.Models.Config;

/// <summary>Turns a misspelt key into "did you mean ...?" so typos in configs are quick to fix.</summary>
internal static class NameSuggester
{
    /// <summary>
    /// "did you mean 'learning_rate'?" when one valid name is close, otherwise the full list of
    /// valid names (a short list, so showing it beats making the user look it up).
    /// </summary>
    public static string Hint(string wrong, IEnumerable<string> validNames)
    {
        var names = validNames.ToList();
        var nearest = Nearest(wrong, names);
        return nearest is not null
            ? $"did you mean '{nearest}'?"
            : $"valid keys are {string.Join(", ", names)}";
    }

    public static string? Nearest(string wrong, IReadOnlyCollection<string> validNames)
    {
        var wanted = Normalize(wrong);
        // "learningRate", "Learning-Rate" and "learning_rate" are the same name typed differently.
        var sameLetters = validNames.FirstOrDefault(n => Normalize(n).Replace("_", "") == wanted.Replace("_", ""));
        if (sameLetters is not null)
        {
            return sameLetters;
        }
        // A third of the length in edits still reads as a typo; more than that is a different word.
        var budget = Math.Max(2, wanted.Length / 3);
        return validNames
            .Select(n => (Name: n, Distance: Levenshtein(wanted, Normalize(n))))
            .Where(c => c.Distance <= budget)
            .OrderBy(c => c.Distance)
            .Select(c => c.Name)
            .FirstOrDefault();
    }

    private static string Normalize(string name) => name.Trim().ToLowerInvariant().Replace('-', '_');

    private static int Levenshtein(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}

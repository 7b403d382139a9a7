namespace Distributed.Models.Config;

/// <summary>
/// A configuration that cannot be used. Carries every problem found, not just the first, so a
/// user fixes a config file in one pass instead of one error per run.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(IReadOnlyList<string> problems)
        : base(Describe(problems)) => Problems = problems;

    public ConfigException(string problem)
        : this([problem]) { }

    /// <summary>Each problem on its own, naming the field, the bad value and what is allowed.</summary>
    public IReadOnlyList<string> Problems { get; }

    private static string Describe(IReadOnlyList<string> problems) =>
        problems.Count == 1
            ? problems[0]
            : $"The configuration has {problems.Count} problems:{Environment.NewLine}"
              + string.Join(Environment.NewLine, problems.Select(p => "  - " + p));
}

namespace Distributed.Models.Search;

/// <summary>Turns a sweep into the list of trials to run, each with a complete, validated config.</summary>
public static class TrialPlanner
{
    /// <exception cref="ConfigException">
    /// Grid: naming each combination the config validator rejects, and why. Random: when too few of the
    /// drawn combinations are valid to fill the trials.
    /// </exception>
    public static SweepPlan Plan(SweepSpec spec) => spec.Strategy switch
    {
        SearchStrategy.Grid => GridPlanner.Plan(spec),
        SearchStrategy.Random => RandomPlanner.Plan(spec),
        _ => throw new ArgumentOutOfRangeException(nameof(spec), spec.Strategy, "unknown search strategy"),
    };
}

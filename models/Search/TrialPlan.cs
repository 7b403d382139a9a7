namespace Distributed.Models.Search;

/// <summary>
/// One trial: its swept values (field → value as in config JSON, in the sweep file's field order)
/// and the complete, validated config it trains with.
/// </summary>
public sealed record TrialPlan(int Index, IReadOnlyDictionary<string, object> Values, GptConfig Config)
{
    /// <summary>"learning_rate=3.1e-04 dropout=0.12 num_layers=3", for logs and tables.</summary>
    public string Describe() => ValueFormat.Describe(Values);
}

/// <summary>The trials to run, and how many random draws the validator rejected on the way.</summary>
public sealed record SweepPlan(IReadOnlyList<TrialPlan> Trials, int ResampledInvalid);

namespace Distributed.Models.Search;

/// <summary>How the trials' values are chosen.</summary>
public enum SearchStrategy { Grid, Random }

/// <summary>Which trials' checkpoints are kept when the sweep ends.</summary>
public enum KeepPolicy { Best, All }

/// <summary>Successive halving: rungs at min_evaluations × reduction_factor^k evaluations.</summary>
public sealed record AshaSettings(int ReductionFactor, int MinEvaluations);

/// <summary>
/// A validated sweep file. Only <see cref="SweepLoader"/> makes one (the setters are internal), so a
/// planner or runner can trust every field and every dimension without checking again.
/// </summary>
public sealed record SweepSpec
{
    internal SweepSpec() { }

    /// <summary>The sweep file, for error messages and for resolving paths next to it.</summary>
    public string SourcePath { get; internal init; } = "";

    /// <summary>base_config then base applied to the defaults; valid on its own.</summary>
    public GptConfig BaseConfig { get; internal init; } = new();

    public SearchStrategy Strategy { get; internal init; }

    /// <summary>Number of random trials; null for grid search, which runs every combination.</summary>
    public int? Trials { get; internal init; }

    /// <summary>Seed of random sampling; defaults to the base config's seed.</summary>
    public long Seed { get; internal init; }

    /// <summary>Always "val_loss" for now; kept so results can say what they ranked by.</summary>
    public string Metric { get; internal init; } = SweepLoader.ValLoss;

    /// <summary>Workers each trial trains on; null means all of them (trials then run one at a time).</summary>
    public int? WorkersPerTrial { get; internal init; }

    /// <summary>How often a failed trial is run again before it is recorded as failed.</summary>
    public int MaxRetries { get; internal init; }

    /// <summary>Evaluations without a new best val loss after which a trial stops; null: never.</summary>
    public int? Patience { get; internal init; }

    public AshaSettings? Asha { get; internal init; }

    public KeepPolicy Keep { get; internal init; }

    /// <summary>The swept fields, in the order the file lists them.</summary>
    public IReadOnlyList<SearchDimension> Space { get; internal init; } = [];
}

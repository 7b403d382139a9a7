namespace Distributed.Models.Experiments;

/// <summary>What a run is: one `train` (recorded with a single trial, index 0) or a hyperparameter `sweep`.</summary>
public static class RunKind
{
    public const string Train = "train";
    public const string Sweep = "sweep";

    internal static readonly string[] All = [Train, Sweep];
}

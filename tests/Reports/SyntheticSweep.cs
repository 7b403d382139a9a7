using Distributed.Models.Experiments;
using Distributed.Coordinator.Reports;

namespace Distributed.Tests.Reports;

/// <summary>A small made-up sweep: three fields of the three kinds (log-numeric, integer, categorical), one failed trial.</summary>
public static class SyntheticSweep
{
    public static readonly string[] Fields = ["learning_rate", "n_layer", "activation"];

    public static IReadOnlyList<TrialResult> FourTrials() =>
    [
        Trial(0, 1e-4, 2, "gelu", TrialStatus.Completed, null, best: 1.90, final: 1.92, seconds: 30.5, start: 4.0, rate: 0.010),
        // Failed: the reason has a comma, so its CSV field must be quoted.
        Trial(1, 3e-3, 4, "relu", TrialStatus.Failed, "loss is NaN, step 40", best: null, final: null, seconds: 12.25, start: 4.1, rate: 0.05, steps: 3),
        Trial(2, 1e-3, 4, "gelu", TrialStatus.Completed, null, best: 1.55, final: 1.57, seconds: 41.0, start: 4.2, rate: 0.025),
        // Stopped early, with quotes in its reason.
        Trial(3, 3e-4, 2, "relu", TrialStatus.StoppedEarly, "no \"improvement\" for 3 evals", best: 1.70, final: 1.74, seconds: 22.0, start: 3.9, rate: 0.018, steps: 6),
    ];

    public static TrialResult Trial(int index, double lr, long layers, string activation, string status, string? reason,
        double? best, double? final, double seconds, double start, double rate, int steps = 10)
    {
        // Exponential decay towards ~1.5 with validation a bit above training: looks like a real run.
        var curve = Enumerable.Range(0, steps)
            .Select(i => new CurvePoint(i * 100, 1.4 + (start - 1.4) * Math.Exp(-rate * i * 10), 1.5 + (start - 1.4) * Math.Exp(-rate * i * 9)))
            .ToList();
        var parameters = new Dictionary<string, object> { ["learning_rate"] = lr, ["n_layer"] = layers, ["activation"] = activation };
        return new TrialResult(index, parameters, status, reason, final, best, seconds, curve);
    }
}

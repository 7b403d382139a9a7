namespace Distributed.Models.Search;

/// <summary>
/// Asynchronous successive halving (ASHA). Rung k is reached at evaluation min_evaluations ×
/// reduction_factor^k (1-based). A trial reaching a rung records its val loss there and goes on only
/// if it is in the top 1/reduction_factor of the values recorded at that rung so far; until the rung
/// has reduction_factor values there is nothing to compare with, and the trial goes on. Trials are
/// judged as they arrive, never waiting for the others, which is what makes it asynchronous.
/// Thread-safe: concurrent trials report through one instance.
/// </summary>
public sealed class AshaRungs
{
    private readonly object _lock = new();
    private readonly List<Dictionary<int, double>> _rungs = [];

    public AshaRungs(int reductionFactor, int minEvaluations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(reductionFactor, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(minEvaluations, 1);
        ReductionFactor = reductionFactor;
        MinEvaluations = minEvaluations;
    }

    public AshaRungs(AshaSettings settings) : this(settings.ReductionFactor, settings.MinEvaluations) { }

    public int ReductionFactor { get; }
    public int MinEvaluations { get; }

    /// <param name="trialIndex">The trial reporting; a retried trial reporting a rung again replaces its value.</param>
    /// <param name="evaluationNumber">1 for the trial's first evaluation.</param>
    public bool ShouldStop(int trialIndex, int evaluationNumber, double valLoss)
    {
        if (RungOf(evaluationNumber) is not { } rung)
        {
            return false;
        }
        // NaN (diverged) ranks below every real loss.
        var loss = double.IsNaN(valLoss) ? double.PositiveInfinity : valLoss;
        lock (_lock)
        {
            while (_rungs.Count <= rung)
            {
                _rungs.Add([]);
            }
            var recorded = _rungs[rung];
            recorded[trialIndex] = loss;
            if (recorded.Count < ReductionFactor)
            {
                return false;
            }
            // Ties go on: only strictly better trials push this one out of the top.
            var promoted = recorded.Count / ReductionFactor;
            var better = recorded.Count(r => r.Key != trialIndex && r.Value < loss);
            return better >= promoted;
        }
    }

    /// <summary>The rung an evaluation completes, or null when it is between rungs.</summary>
    public int? RungOf(int evaluationNumber)
    {
        if (evaluationNumber < MinEvaluations || evaluationNumber % MinEvaluations != 0)
        {
            return null;
        }
        var multiple = evaluationNumber / MinEvaluations;
        var rung = 0;
        while (multiple % ReductionFactor == 0)
        {
            multiple /= ReductionFactor;
            rung++;
        }
        return multiple == 1 ? rung : null;
    }
}

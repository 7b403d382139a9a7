using System.Collections.ObjectModel;
using Distributed.Models.Config;

namespace Distributed.Models.Search;

/// <summary>
/// Every combination of the listed values: fields in the sweep file's order, the last varying fastest
/// (like nested loops written in that order). The whole grid is refused if any combination is invalid,
/// since silently skipping points would leave holes in a grid the user asked for.
/// </summary>
internal static class GridPlanner
{
    /// <summary>Enough rejected combinations to show the pattern without flooding the terminal.</summary>
    private const int ShownRejections = 10;

    public static SweepPlan Plan(SweepSpec spec)
    {
        var dimensions = spec.Space.Cast<ChoiceDimension>().ToList();
        var total = dimensions.Aggregate(1, (n, d) => n * d.Values.Count);
        var patch = new ConfigPatch(spec.BaseConfig);
        var trials = new List<TrialPlan>(total);
        var rejected = new List<string>();
        var rejectedCount = 0;
        for (var index = 0; index < total; index++)
        {
            var values = Combination(dimensions, index);
            var (config, problems) = patch.Apply(values);
            if (problems.Count == 0)
            {
                trials.Add(new TrialPlan(index, new ReadOnlyDictionary<string, object>(values), config));
                continue;
            }
            rejectedCount++;
            if (rejected.Count < ShownRejections)
            {
                rejected.Add($"sweep file '{spec.SourcePath}': grid combination {index + 1} of {total} ({ValueFormat.Describe(values)}) is invalid: {string.Join("; ", problems)}");
            }
        }
        if (rejectedCount > 0)
        {
            if (rejectedCount > rejected.Count)
            {
                rejected.Add($"... and {rejectedCount - rejected.Count} more of the {total} combinations are invalid; change the lists so that every combination is valid, or use random search, which redraws invalid combinations");
            }
            throw new ConfigException(rejected);
        }
        return new SweepPlan(trials, ResampledInvalid: 0);
    }

    /// <summary>The index-th combination, read as a mixed-radix number whose last digit is the last field.</summary>
    private static OrderedDictionary<string, object> Combination(IReadOnlyList<ChoiceDimension> dimensions, int index)
    {
        var picks = new object[dimensions.Count];
        for (var d = dimensions.Count - 1; d >= 0; d--)
        {
            var count = dimensions[d].Values.Count;
            picks[d] = dimensions[d].Values[index % count];
            index /= count;
        }
        var values = new OrderedDictionary<string, object>(dimensions.Count);
        for (var d = 0; d < dimensions.Count; d++)
        {
            values.Add(dimensions[d].Field, picks[d]);
        }
        return values;
    }
}

using System.Collections.ObjectModel;
using Distributed.Models.Config;
using Distributed.Models.Data;

namespace Distributed.Models.Search;

/// <summary>
/// Draws each field independently from its distribution. Draw number k uses its own generator seeded
/// from (sweep seed, k), so a plan is exactly reproducible from the seed, and a plan with more trials
/// starts with the same trials as one with fewer. A draw the config validator rejects (say
/// embedding_size not divisible by num_heads) is drawn again and counted.
/// </summary>
internal static class RandomPlanner
{
    /// <summary>Draws allowed per trial before giving up: a space this mostly invalid needs narrowing.</summary>
    public const int AttemptsPerTrial = 100;

    private const ulong SamplePurpose = 0x53_57_45_45_50_52_4E_44; // "SWEEPRND"

    public static SweepPlan Plan(SweepSpec spec)
    {
        var wanted = spec.Trials ?? throw new ArgumentException("a random sweep needs Trials", nameof(spec));
        var patch = new ConfigPatch(spec.BaseConfig);
        var trials = new List<TrialPlan>(wanted);
        var rejected = 0;
        string? lastRejection = null;
        var limit = (long)AttemptsPerTrial * wanted;
        for (long attempt = 0; trials.Count < wanted; attempt++)
        {
            if (attempt == limit)
            {
                throw new ConfigException(
                    $"sweep file '{spec.SourcePath}': random search gave up after {limit} draws: only {trials.Count} of {wanted} trials were valid; "
                    + $"the config validator rejected {rejected}, most recently {lastRejection}. Narrow the space so that most combinations are valid.");
            }
            var rng = new Rng(DerivedSeed.For(spec.Seed, SamplePurpose, attempt));
            var values = new OrderedDictionary<string, object>(spec.Space.Count);
            foreach (var dimension in spec.Space)
            {
                values.Add(dimension.Field, dimension.Sample(rng));
            }
            var (config, problems) = patch.Apply(values);
            if (problems.Count == 0)
            {
                trials.Add(new TrialPlan(trials.Count, new ReadOnlyDictionary<string, object>(values), config));
            }
            else
            {
                rejected++;
                lastRejection = $"({ValueFormat.Describe(values)}): {string.Join("; ", problems)}";
            }
        }
        return new SweepPlan(trials, rejected);
    }
}

using System.Text.RegularExpressions;

namespace Distributed.Models.Search;

/// <summary>
/// Catches values no trial could use (dropout 1.5) before anything starts, by putting each listed value
/// and each distribution bound alone into the base config and asking ConfigValidator, so the ranges
/// stay defined in one place.
/// </summary>
internal static class SpaceRangeCheck
{
    public static void Check(ConfigPatch patch, IReadOnlyList<SearchDimension> space, string source, List<string> problems)
    {
        var swept = space.Select(d => d.Field).ToList();
        foreach (var dimension in space)
        {
            var others = swept.Where(f => f != dimension.Field).ToList();
            foreach (var value in Candidates(dimension))
            {
                var (_, found) = patch.Apply([KeyValuePair.Create(dimension.Field, value)]);
                foreach (var problem in found.Where(p => !MentionsAny(p, others)))
                {
                    problems.Add($"{source}: space.{dimension.Field} value {ValueFormat.Format(value)} is invalid: {problem}");
                }
            }
        }
    }

    /// <summary>
    /// A problem that names another swept field ("embedding_size 72 must be divisible by num_heads 4"
    /// while num_heads is swept too) depends on the combination, not on this value alone; the grid
    /// check or random resampling judges those on whole combinations instead.
    /// </summary>
    private static bool MentionsAny(string problem, IEnumerable<string> fields) =>
        fields.Any(f => Regex.IsMatch(problem, $@"\b{Regex.Escape(f)}\b"));

    // Validator ranges are intervals, so a distribution's two bounds stand for every value between.
    private static IEnumerable<object> Candidates(SearchDimension dimension) => dimension switch
    {
        ChoiceDimension c => c.Values,
        UniformDimension u => [u.Low, u.High],
        LogUniformDimension l => [l.Low, l.High],
        IntUniformDimension i => [i.FieldValue(i.Low), i.FieldValue(i.High)],
        _ => throw new InvalidOperationException($"no range check for {dimension.GetType().Name}"),
    };
}

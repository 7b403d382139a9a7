using System.Text.Json.Nodes;
using System.Text.Json;
using Distributed.Models.Config;

namespace Distributed.Models.Search;

/// <summary>
/// Reads "space" into dimensions: that each key is a config field, that each value has the field's
/// type (ConfigJson's check, as for config files) and that each distribution is well formed.
/// Whether the values are in the field's range is <see cref="SpaceRangeCheck"/>'s job.
/// </summary>
internal static class SpaceParser
{
    private static readonly string[] Kinds = ["choice", "uniform", "log_uniform", "int_uniform"];

    public static List<SearchDimension> Parse(JsonObject space, string source, List<string> problems)
    {
        var dimensions = new List<SearchDimension>();
        foreach (var (field, node) in space)
        {
            var where = $"{source}: space.{field}";
            if (!ConfigJson.FieldTypes.ContainsKey(field))
            {
                problems.Add($"{where} is not a config field; {NameSuggester.Hint(field, ConfigJson.FieldTypes.Keys)}");
                continue;
            }
            var dimension = node switch
            {
                JsonArray list => ParseList(field, list, where, problems),
                JsonObject distribution => ParseDistribution(field, distribution, where, problems),
                _ => Fail<SearchDimension>(problems,
                    $"{where} = {node?.ToJsonString() ?? "null"} is not valid; expected a list of values like [1, 2] or a distribution like {{\"uniform\": [0.0, 0.2]}}"),
            };
            if (dimension is not null)
            {
                dimensions.Add(dimension);
            }
        }
        if (dimensions.Count == 0 && problems.Count == 0)
        {
            problems.Add($"{source}: space is empty; name at least one field to search, e.g. \"space\": {{ \"learning_rate\": [3e-4, 1e-3] }}");
        }
        return dimensions;
    }

    private static ChoiceDimension? ParseList(string field, JsonArray list, string where, List<string> problems)
    {
        if (list.Count == 0)
        {
            return Fail<ChoiceDimension>(problems, $"{where} = [] is empty; list at least one value");
        }
        var values = new List<object>();
        var before = problems.Count;
        for (var i = 0; i < list.Count; i++)
        {
            var problem = ConfigJson.CheckField($"{where}[{i}]", field, list[i]);
            if (problem is not null)
            {
                problems.Add(problem);
                continue;
            }
            var value = ToFieldValue(field, list[i]!);
            if (values.Contains(value))
            {
                problems.Add($"{where} lists {ValueFormat.Format(value)} more than once; remove the repeat (each value is a trial of its own)");
            }
            values.Add(value);
        }
        return problems.Count == before ? new ChoiceDimension(field, values) : null;
    }

    private static SearchDimension? ParseDistribution(string field, JsonObject distribution, string where, List<string> problems)
    {
        if (distribution.Count != 1)
        {
            return Fail<SearchDimension>(problems,
                $"{where} = {distribution.ToJsonString()} is not valid; give exactly one distribution, one of {string.Join(", ", Kinds)}, e.g. {{\"uniform\": [0.0, 0.2]}}");
        }
        var (kind, argument) = distribution.First();
        var at = $"{where}.{kind}";
        if (kind == "choice")
        {
            return argument is JsonArray list
                ? ParseList(field, list, at, problems)
                : Fail<SearchDimension>(problems, $"{at} = {argument?.ToJsonString() ?? "null"} is not valid; expected a list of values, e.g. [64, 128]");
        }
        if (!Kinds.Contains(kind))
        {
            return Fail<SearchDimension>(problems, $"{where}: unknown distribution '{kind}'; {NameSuggester.Hint(kind, Kinds)}");
        }
        var type = ConfigJson.FieldTypes[field];
        var whole = type == typeof(int) || type == typeof(long);
        if (kind == "int_uniform" ? !whole : type != typeof(double))
        {
            var use = whole ? "int_uniform" : type == typeof(double) ? "uniform or log_uniform" : "a list of values";
            return Fail<SearchDimension>(problems, $"{at}: {field} takes {ConfigJson.Describe(type)}, which {kind} does not draw; use {use}");
        }
        if (argument is not JsonArray { Count: 2 } bounds)
        {
            return Fail<SearchDimension>(problems, $"{at} = {argument?.ToJsonString() ?? "null"} is not valid; expected [low, high]");
        }
        var lowProblem = ConfigJson.CheckField($"{at}[0]", field, bounds[0]);
        var highProblem = ConfigJson.CheckField($"{at}[1]", field, bounds[1]);
        if (lowProblem is not null || highProblem is not null)
        {
            problems.AddRange(new[] { lowProblem, highProblem }.OfType<string>());
            return null;
        }
        return whole
            ? IntUniform(field, bounds[0]!.Deserialize<long>(), bounds[1]!.Deserialize<long>(), at, problems)
            : Continuous(field, kind, bounds[0]!.Deserialize<double>(), bounds[1]!.Deserialize<double>(), at, problems);
    }

    private static IntUniformDimension? IntUniform(string field, long low, long high, string at, List<string> problems)
    {
        if (low > high)
        {
            return Fail<IntUniformDimension>(problems, $"{at} = [{low}, {high}] has low {low} > high {high}; swap them");
        }
        // Rng.NextInt draws below an int; wider ranges than that are no real search space anyway.
        if (high - low >= int.MaxValue)
        {
            return Fail<IntUniformDimension>(problems, $"{at} = [{low}, {high}] spans more than {int.MaxValue} values; narrow it");
        }
        return new IntUniformDimension(field, low, high);
    }

    private static SearchDimension? Continuous(string field, string kind, double low, double high, string at, List<string> problems)
    {
        var text = $"[{ValueFormat.Format(low)}, {ValueFormat.Format(high)}]";
        if (low > high)
        {
            return Fail<SearchDimension>(problems, $"{at} = {text} has low {ValueFormat.Format(low)} > high {ValueFormat.Format(high)}; swap them");
        }
        if (kind == "log_uniform" && low <= 0)
        {
            return Fail<SearchDimension>(problems,
                $"{at} = {text} has low {ValueFormat.Format(low)}, but log_uniform needs low > 0 (it draws the logarithm); e.g. [1e-4, {ValueFormat.Format(high)}], or use uniform");
        }
        return kind == "log_uniform" ? new LogUniformDimension(field, low, high) : new UniformDimension(field, low, high);
    }

    /// <summary>
    /// The value as the field holds it in config JSON: the number in the field's type, the text for
    /// strings and enums (the check before has made sure an enum's text is one of its names).
    /// </summary>
    private static object ToFieldValue(string field, JsonNode node)
    {
        var type = ConfigJson.FieldTypes[field];
        return type == typeof(string) || type.IsEnum
            ? node.GetValue<string>()
            : node.Deserialize(type, ConfigJson.Options)!;
    }

    private static T? Fail<T>(List<string> problems, string problem) where T : SearchDimension
    {
        problems.Add(problem);
        return null;
    }
}

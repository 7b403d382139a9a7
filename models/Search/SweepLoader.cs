using System.Text.Json.Nodes;
using System.Text.Json;
using Distributed.Models.Config;

namespace Distributed.Models.Search;

/// <summary>
/// Reads and validates a sweep file (JSON with comments). Everything that can be checked before a
/// trial starts is checked here, and every problem is reported at once; only whether each grid
/// combination is valid is left to <see cref="TrialPlanner"/>, which has to build them anyway.
/// </summary>
public static class SweepLoader
{
    public const string ValLoss = "val_loss";

    /// <summary>A bound on grid size and random trials: more is a typo, not a search one could afford.</summary>
    public const int MaxTrials = 10_000;

    private static readonly string[] Keys =
        ["base", "base_config", "strategy", "trials", "seed", "metric", "workers_per_trial", "max_retries", "patience", "asha", "keep", "space"];

    private static readonly string[] AshaKeys = ["reduction_factor", "min_evaluations"];

    // As ConfigLoader's config files: written by hand, so comments and trailing commas are fine,
    // duplicate keys are not (which one wins would be a silent guess).
    /// <exception cref="ConfigException">Listing every problem, each naming the field, the value and the fix.</exception>
    public static SweepSpec Load(string path)
    {
        var source = $"sweep file '{path}'";
        var problems = new List<string>();
        var fields = new SweepFields(ReadFile(path, source), source, "", problems);
        fields.RejectUnknownKeys(Keys, key => ConfigJson.FieldTypes.ContainsKey(key)
            ? "config fields go under \"base\" (fixed for every trial) or \"space\" (searched)"
            : null);

        var strategy = fields.OneOf("strategy", ["grid", "random"]) switch
        {
            "grid" => SearchStrategy.Grid,
            "random" => SearchStrategy.Random,
            _ => (SearchStrategy?)null,
        };
        if (strategy is null && fields.Node("strategy") is null)
        {
            problems.Add($"{source}: strategy is missing; add \"strategy\": \"grid\" or \"random\"");
        }
        var trials = fields.Int("trials", 1, MaxTrials);
        CheckTrials(strategy, trials, fields.Node("trials"), source, problems);
        var seed = fields.Long("seed");
        var metric = fields.Text("metric") ?? ValLoss;
        if (metric != ValLoss)
        {
            problems.Add($"{source}: metric = \"{metric}\" is not supported; the only metric is \"{ValLoss}\"");
        }
        var workersPerTrial = fields.Int("workers_per_trial", 1, 100_000);
        var maxRetries = fields.Int("max_retries", 0, 100) ?? 1;
        var patience = fields.Int("patience", 1, 1_000_000);
        var asha = ReadAsha(fields.Object("asha", "{ \"reduction_factor\": 3, \"min_evaluations\": 1 }"), source, problems);
        var keep = fields.OneOf("keep", ["best", "all"]) == "all" ? KeepPolicy.All : KeepPolicy.Best;

        var baseConfig = SweepBase.Read(fields, path, source, problems);
        var space = ReadSpace(fields, strategy, baseConfig, source, problems);

        if (problems.Count > 0)
        {
            throw new ConfigException(problems);
        }
        return new SweepSpec
        {
            SourcePath = path,
            BaseConfig = baseConfig!,
            Strategy = strategy!.Value,
            Trials = trials,
            Seed = seed ?? baseConfig!.Seed,
            Metric = metric,
            WorkersPerTrial = workersPerTrial,
            MaxRetries = maxRetries,
            Patience = patience,
            Asha = asha,
            Keep = keep,
            Space = space,
        };
    }

    private static void CheckTrials(SearchStrategy? strategy, int? trials, JsonNode? given, string source, List<string> problems)
    {
        if (strategy == SearchStrategy.Random && given is null)
        {
            problems.Add($"{source}: trials is missing; random search needs \"trials\": N with N >= 1");
        }
        else if (strategy == SearchStrategy.Grid && trials is not null)
        {
            problems.Add($"{source}: trials = {trials} does not apply to grid search, which runs every combination; remove it or use \"strategy\": \"random\"");
        }
    }

    private static AshaSettings? ReadAsha(JsonObject? json, string source, List<string> problems)
    {
        if (json is null)
        {
            return null;
        }
        var asha = new SweepFields(json, source, "asha.", problems);
        asha.RejectUnknownKeys(AshaKeys);
        return new AshaSettings(asha.Int("reduction_factor", 2, 1000) ?? 3, asha.Int("min_evaluations", 1, 1_000_000) ?? 1);
    }

    private static List<SearchDimension> ReadSpace(
        SweepFields fields, SearchStrategy? strategy, GptConfig? baseConfig, string source, List<string> problems)
    {
        var json = fields.Object("space", "{ \"learning_rate\": [3e-4, 1e-3] }");
        if (json is null)
        {
            if (fields.Node("space") is null)
            {
                problems.Add($"{source}: space is missing; add the fields to search, e.g. \"space\": {{ \"learning_rate\": [3e-4, 1e-3] }}");
            }
            return [];
        }
        var before = problems.Count;
        var space = SpaceParser.Parse(json, source, problems);
        if (strategy == SearchStrategy.Grid)
        {
            CheckGrid(space, source, problems);
        }
        // Range checks need well-formed values and a base to put them in.
        if (baseConfig is not null && problems.Count == before)
        {
            SpaceRangeCheck.Check(new ConfigPatch(baseConfig), space, source, problems);
        }
        return space;
    }

    private static void CheckGrid(IReadOnlyList<SearchDimension> space, string source, List<string> problems)
    {
        foreach (var dimension in space.Where(d => d is not ChoiceDimension))
        {
            problems.Add(
                $"{source}: space.{dimension.Field} is {dimension.Kind}, but grid search needs a list of values, e.g. \"{dimension.Field}\": [a, b, c]; or use \"strategy\": \"random\"");
        }
        var combinations = space.OfType<ChoiceDimension>().Aggregate(1.0, (n, d) => n * d.Values.Count);
        if (combinations > MaxTrials)
        {
            problems.Add($"{source}: the grid has {combinations:N0} combinations, more than {MaxTrials}; shorten the lists or use random search");
        }
    }

    private static JsonObject ReadFile(string path, string source)
        => ConfigLoader.ReadFile(path, source, "{\"strategy\": \"grid\", \"space\": {...}}");
}

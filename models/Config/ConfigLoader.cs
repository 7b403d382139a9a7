using System.Text.Json;
using System.Text.Json.Nodes;

namespace Distributed.Models.Config;

/// <summary>
/// Builds a <see cref="GptConfig"/> from defaults (or a preset), then a JSON file, then --set
/// overrides, each layer replacing only the keys it names; the result is validated.
/// </summary>
public static class ConfigLoader
{
    // Config files are written by hand, so comments and trailing commas are forgiven;
    // duplicate keys are not, since which one wins would be a silent guess.
    private static readonly JsonDocumentOptions FileOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        AllowDuplicateProperties = false,
    };

    /// <summary>Defaults, then <paramref name="jsonPath"/> (if any), then each "key=value" override.</summary>
    /// <exception cref="ConfigException">Listing every unreadable, unknown, mistyped or out-of-range value.</exception>
    public static GptConfig Load(string? jsonPath, IEnumerable<string> overrides) =>
        Load(new GptConfig(), jsonPath, overrides);

    /// <summary>As <see cref="Load(string?, IEnumerable{string})"/> but starting from <paramref name="baseConfig"/>, e.g. a preset.</summary>
    public static GptConfig Load(GptConfig baseConfig, string? jsonPath, IEnumerable<string> overrides)
    {
        var source = $"config file '{jsonPath}'";
        return Merge(baseConfig, jsonPath is null ? null : (source, ReadFile(jsonPath, source)), overrides);
    }

    /// <summary>A config from JSON text (e.g. received over the network); <paramref name="source"/> names it in errors.</summary>
    public static GptConfig FromJson(string json, string source) => Merge(new GptConfig(), (source, Parse(json, source, DefaultExample)), []);

    private static GptConfig Merge(GptConfig baseConfig, (string Source, JsonObject Values)? file, IEnumerable<string> overrides)
    {
        var merged = ConfigJson.ToObject(baseConfig);
        var problems = new List<string>();
        if (file is var (fileSource, values))
        {
            foreach (var (key, value) in values)
            {
                Apply(merged, fileSource, key, value, problems);
            }
        }
        foreach (var text in overrides)
        {
            try
            {
                var (key, value, source) = ConfigOverride.Parse(text);
                Apply(merged, source, key, value, problems);
            }
            catch (ConfigException e)
            {
                problems.AddRange(e.Problems);
            }
        }
        if (problems.Count > 0)
        {
            throw new ConfigException(problems);
        }
        var config = merged.Deserialize<GptConfig>(ConfigJson.Options)!;
        ConfigValidator.Validate(config);
        return config;
    }

    /// <summary>The config as indented JSON with snake_case keys and lowercase enums; <see cref="Load(string?, IEnumerable{string})"/> reads it back equal.</summary>
    public static string ToJson(GptConfig config) => JsonSerializer.Serialize(config, ConfigJson.Options);

    private static void Apply(JsonObject merged, string source, string key, JsonNode? value, List<string> problems)
    {
        var problem = ConfigJson.CheckField(source, key, value);
        if (problem is null)
        {
            merged[key] = value?.DeepClone();
        }
        else
        {
            problems.Add(problem);
        }
    }

    /// <summary>Reads a JSON object from a file (comments and trailing commas allowed); <paramref name="example"/> shows the expected shape in errors.</summary>
    internal static JsonObject ReadFile(string path, string source, string example = DefaultExample)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(
                $"{source} cannot be read ({e.Message}); check the path (relative to {Environment.CurrentDirectory}) and permissions");
        }
        return Parse(text, source, example);
    }

    private const string DefaultExample = "{\"learning_rate\": 3e-4}";

    private static JsonObject Parse(string text, string source, string example)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text, documentOptions: FileOptions);
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{source} is not valid JSON: {e.Message} Fix the syntax at that spot.");
        }
        return root as JsonObject
            ?? throw new ConfigException(
                $"{source} must hold a JSON object like {example}, not {root?.GetValueKind().ToString().ToLowerInvariant() ?? "null"}");
    }
}

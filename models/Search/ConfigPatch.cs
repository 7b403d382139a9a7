using System.Text.Json.Nodes;
using System.Text.Json;
using Distributed.Models.Config;

namespace Distributed.Models.Search;

/// <summary>
/// Puts values into a base config the way ConfigLoader does (the config's JSON object, then
/// ConfigJson's deserializer, then ConfigValidator), so field types and enum spellings are handled in
/// one place. Unlike ConfigLoader it returns the validator's problems instead of throwing, because
/// random search rejects and redraws thousands of combinations.
/// </summary>
internal sealed class ConfigPatch(GptConfig baseConfig)
{
    private readonly JsonObject _base = ConfigJson.ToObject(baseConfig);

    /// <summary>
    /// The base with <paramref name="values"/> put in, and what ConfigValidator says about it (empty:
    /// valid). Each value must already have passed <see cref="ConfigJson.CheckField"/>.
    /// </summary>
    public (GptConfig Config, IReadOnlyList<string> Problems) Apply(IEnumerable<KeyValuePair<string, JsonNode?>> values)
    {
        var merged = (JsonObject)_base.DeepClone();
        foreach (var (key, value) in values)
        {
            merged[key] = value?.DeepClone();
        }
        var config = merged.Deserialize<GptConfig>(ConfigJson.Options)!;
        return (config, ConfigValidator.Problems(config));
    }

    /// <summary>As above for swept values held as CLR objects (int, long, double, string).</summary>
    public (GptConfig Config, IReadOnlyList<string> Problems) Apply(IEnumerable<KeyValuePair<string, object>> values) =>
        Apply(values.Select(v => KeyValuePair.Create(v.Key, ToNode(v.Value))));

    public static JsonNode? ToNode(object value) => JsonSerializer.SerializeToNode(value, value.GetType(), ConfigJson.Options);
}

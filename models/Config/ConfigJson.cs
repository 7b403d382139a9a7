using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Distributed.Models.Config;

/// <summary>
/// The one JSON dialect of <see cref="GptConfig"/>: its snake_case field names, their types, and
/// the per-field type check shared by config files and --set overrides.
/// </summary>
internal static class ConfigJson
{
    public static readonly JsonSerializerOptions Options = CreateOptions();

    /// <summary>Field name as written in JSON → the CLR type its value must convert to.</summary>
    public static readonly IReadOnlyDictionary<string, Type> FieldTypes =
        Options.GetTypeInfo(typeof(GptConfig)).Properties.ToDictionary(p => p.Name, p => p.PropertyType, StringComparer.Ordinal);

    /// <summary>
    /// Checks that <paramref name="key"/> is a field and <paramref name="value"/> converts to its type.
    /// Returns the problem, prefixed with <paramref name="source"/> (a file or a --set argument), or null.
    /// </summary>
    public static string? CheckField(string source, string key, JsonNode? value)
    {
        if (!FieldTypes.TryGetValue(key, out var type))
        {
            return $"{source}: unknown key '{key}'; {NameSuggester.Hint(key, FieldTypes.Keys)}";
        }
        if (value is null)
        {
            // Deserializing null into the string field would succeed and leave the record in a state
            // its non-nullable type promises cannot happen, so null is refused for every field.
            return $"{source}: {key} is null; give it {Describe(type)}";
        }
        try
        {
            value.Deserialize(type, Options);
            return null;
        }
        catch (JsonException)
        {
            return $"{source}: {key} = {value.ToJsonString()} is not valid; expected {Describe(type)}";
        }
    }

    /// <summary>What a value of <paramref name="type"/> looks like, for error messages.</summary>
    public static string Describe(Type type) => type switch
    {
        _ when type == typeof(int) || type == typeof(long) => "a whole number, e.g. 12",
        _ when type == typeof(double) => "a number, e.g. 3e-4",
        _ when type == typeof(string) => "a string",
        _ when type == typeof(bool) => "true or false",
        { IsEnum: true } => $"one of {LowercaseEnumNames.List(type)}",
        _ => type.Name,
    };

    public static JsonObject ToObject(GptConfig config) =>
        JsonSerializer.SerializeToNode(config, Options)!.AsObject();

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            WriteIndented = true,
            // Unknown keys are reported with a suggestion before deserializing; this keeps any other
            // deserialization with these options from silently dropping a misspelt key.
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            AllowDuplicateProperties = false,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        };
        options.Converters.Add(new LowercaseEnumConverter<Activation>());
        options.Converters.Add(new LowercaseEnumConverter<OptimizerKind>());
        options.Converters.Add(new LowercaseEnumConverter<NormKind>());
        options.Converters.Add(new LowercaseEnumConverter<MlpKind>());
        options.Converters.Add(new LowercaseEnumConverter<PositionKind>());
        options.Converters.Add(new LowercaseEnumConverter<AllReduceDtype>());
        options.MakeReadOnly();
        return options;
    }
}

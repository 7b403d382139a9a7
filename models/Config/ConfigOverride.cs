using System.Text.Json;
using System.Text.Json.Nodes;

namespace Distributed.Models.Config;

/// <summary>One command-line "--set key=value", turned into the JSON value the key's field expects.</summary>
internal static class ConfigOverride
{
    /// <summary>
    /// Splits "key=value" and converts the value: for string and enum fields the text is taken as is
    /// (so "activation=relu" needs no quotes); for numbers it is read as a JSON number, so "3e-4"
    /// works and "abc" is refused by the field check.
    /// </summary>
    public static (string Key, JsonNode? Value, string Source) Parse(string text)
    {
        var source = $"--set {text}";
        var equals = text.IndexOf('=');
        if (equals <= 0)
        {
            throw new ConfigException($"{source}: expected key=value, e.g. --set learning_rate=3e-4");
        }
        var key = text[..equals].Trim();
        var raw = text[(equals + 1)..].Trim();
        var takesText = ConfigJson.FieldTypes.TryGetValue(key, out var type) && (type == typeof(string) || type.IsEnum);
        return (key, takesText ? JsonValue.Create(raw) : ParseLiteral(raw), source);
    }

    // Not a JSON literal at all ("abc", "") becomes a string node, which the field check then
    // reports as "not a number" with the user's text, rather than as a JSON syntax error.
    private static JsonNode? ParseLiteral(string raw)
    {
        try
        {
            return JsonNode.Parse(raw);
        }
        catch (JsonException)
        {
            return JsonValue.Create(raw);
        }
    }
}

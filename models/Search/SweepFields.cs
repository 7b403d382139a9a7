using System.Text.Json.Nodes;
using Distributed.Models.Config;

namespace Distributed.Models.Search;

/// <summary>
/// Typed reads of one JSON object of the sweep file. A missing key and null both mean "not given";
/// a value of the wrong kind or out of range adds a problem naming the key, the value and what is
/// allowed, and reads as not given so loading can go on and report everything at once.
/// </summary>
internal sealed class SweepFields(JsonObject json, string source, string prefix, List<string> problems)
{
    /// <summary>Reports each key not in <paramref name="allowed"/>, with the nearest allowed one.</summary>
    public void RejectUnknownKeys(IReadOnlyCollection<string> allowed, Func<string, string?>? extraHint = null)
    {
        foreach (var (key, _) in json)
        {
            if (!allowed.Contains(key))
            {
                var hint = extraHint?.Invoke(key) ?? NameSuggester.Hint(key, allowed);
                problems.Add($"{source}: unknown key '{prefix}{key}'; {hint}");
            }
        }
    }

    public JsonNode? Node(string key) => json[key];

    public int? Int(string key, int min, int max)
    {
        var node = json[key];
        if (node is null)
        {
            return null;
        }
        if (node is not JsonValue value || !value.TryGetValue<long>(out var number))
        {
            problems.Add($"{source}: {prefix}{key} = {node.ToJsonString()} is not valid; expected a whole number {min}..{max}");
            return null;
        }
        if (number < min || number > max)
        {
            problems.Add($"{source}: {prefix}{key} = {number} is out of range: must be {min}..{max}");
            return null;
        }
        return (int)number;
    }

    public long? Long(string key)
    {
        var node = json[key];
        if (node is null)
        {
            return null;
        }
        if (node is JsonValue value && value.TryGetValue<long>(out var number))
        {
            return number;
        }
        problems.Add($"{source}: {prefix}{key} = {node.ToJsonString()} is not valid; expected a whole number, e.g. 1");
        return null;
    }

    public string? Text(string key)
    {
        var node = json[key];
        if (node is null)
        {
            return null;
        }
        if (node is JsonValue value && value.TryGetValue<string>(out var text))
        {
            return text;
        }
        problems.Add($"{source}: {prefix}{key} = {node.ToJsonString()} is not valid; expected a string");
        return null;
    }

    /// <summary>One of <paramref name="allowed"/>, exactly as spelt there.</summary>
    public string? OneOf(string key, IReadOnlyList<string> allowed)
    {
        var node = json[key];
        if (node is null)
        {
            return null;
        }
        if (node is JsonValue value && value.TryGetValue<string>(out var text) && allowed.Contains(text))
        {
            return text;
        }
        problems.Add($"{source}: {prefix}{key} = {node.ToJsonString()} is not valid; expected {string.Join(" or ", allowed.Select(a => $"\"{a}\""))}");
        return null;
    }

    public JsonObject? Object(string key, string example)
    {
        var node = json[key];
        if (node is null or JsonObject)
        {
            return (JsonObject?)node;
        }
        problems.Add($"{source}: {prefix}{key} = {node.ToJsonString()} is not valid; expected an object like {example}");
        return null;
    }
}

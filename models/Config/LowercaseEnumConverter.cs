using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distributed.Models.Config;

/// <summary>
/// Reads and writes an enum as its member name in lower case ("gelu", "adamw") and nothing else:
/// no numbers, no other casing. The built-in JsonStringEnumConverter also accepts integers and any
/// casing, which would let typos like "1" or "Gelu" through silently in one place and not another.
/// </summary>
internal sealed class LowercaseEnumConverter<TEnum> : JsonConverter<TEnum>
    where TEnum : struct, Enum
{
    private static readonly Dictionary<string, TEnum> ByName =
        Enum.GetValues<TEnum>().ToDictionary(v => LowercaseEnumNames.Of(v), v => v, StringComparer.Ordinal);

    public override TEnum Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        if (text is not null && ByName.TryGetValue(text, out var value))
        {
            return value;
        }
        throw new JsonException(
            $"expected one of {LowercaseEnumNames.List(typeof(TEnum))} for {typeof(TEnum).Name}");
    }

    public override void Write(Utf8JsonWriter writer, TEnum value, JsonSerializerOptions options) =>
        writer.WriteStringValue(LowercaseEnumNames.Of(value));
}

/// <summary>The spelling rule shared by the converter and by error messages that list allowed values.</summary>
public static class LowercaseEnumNames
{
    public static string Of<TEnum>(TEnum value) where TEnum : struct, Enum =>
        value.ToString().ToLowerInvariant();

    /// <summary>"gelu, relu, tanh": the allowed spellings of an enum type, in declaration order.</summary>
    public static string List(Type enumType) =>
        string.Join(", ", Enum.GetNames(enumType).Select(n => n.ToLowerInvariant()));
}

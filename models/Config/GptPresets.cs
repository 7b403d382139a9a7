namespace Distributed.Models.Config;

/// <summary>
/// The published GPT-2 shapes, for loading or reproducing OpenAI's checkpoints. Only the shape
/// fields change; training settings stay at their defaults for the caller to override.
/// </summary>
public static class GptPresets
{
    private static readonly Dictionary<string, GptConfig> ByName = new(StringComparer.Ordinal)
    {
        ["gpt2"] = Gpt2(layers: 12, heads: 12, embedding: 768),
        ["gpt2-medium"] = Gpt2(layers: 24, heads: 16, embedding: 1024),
        ["gpt2-large"] = Gpt2(layers: 36, heads: 20, embedding: 1280),
        ["gpt2-xl"] = Gpt2(layers: 48, heads: 25, embedding: 1600),
    };

    public static IReadOnlyCollection<string> Names => ByName.Keys;

    /// <exception cref="ConfigException">When <paramref name="name"/> is not a preset; lists the valid ones.</exception>
    public static GptConfig Get(string name) =>
        ByName.TryGetValue(name, out var config)
            ? config
            : throw new ConfigException(
                $"unknown preset '{name}': valid presets are {string.Join(", ", ByName.Keys)}"
                + (NameSuggester.Nearest(name, ByName.Keys) is { } near ? $" (did you mean '{near}'?)" : ""));

    // 50257 = 256 byte tokens + 50000 merges + <|endoftext|>, GPT-2's byte-level BPE.
    private static GptConfig Gpt2(int layers, int heads, int embedding) => new()
    {
        NumLayers = layers,
        NumHeads = heads,
        EmbeddingSize = embedding,
        MaxSequenceLength = 1024,
        VocabSize = 50257,
        Tokenizer = "bpe",
    };
}

namespace Distributed.Models.Config;

/// <summary>
/// The published shapes users size their runs against: GPT-2 (OpenAI's checkpoints), GPT-3 175B
/// (the GPT-2 layout scaled up, as the paper describes it) and LLaMA (Hugging Face's LlamaConfig
/// for each size). Only the model fields change; training settings stay at their defaults for the
/// caller to override.
/// </summary>
public static class GptPresets
{
    private static readonly Dictionary<string, GptConfig> ByName = new(StringComparer.Ordinal)
    {
        ["gpt2"] = Gpt2(layers: 12, heads: 12, embedding: 768),
        ["gpt2-medium"] = Gpt2(layers: 24, heads: 16, embedding: 1024),
        ["gpt2-large"] = Gpt2(layers: 36, heads: 20, embedding: 1280),
        ["gpt2-xl"] = Gpt2(layers: 48, heads: 25, embedding: 1600),
        ["gpt3-175b"] = Gpt2(layers: 96, heads: 96, embedding: 12288) with { MaxSequenceLength = 2048 },
        // The feed-forward widths (11008, 13824, 17920, 22016) follow from LLaMA's rule (GptConfig.FeedForwardWidth).
        ["llama-7b"] = Llama(layers: 32, heads: 32, embedding: 4096),
        ["llama-13b"] = Llama(layers: 40, heads: 40, embedding: 5120),
        ["llama-33b"] = Llama(layers: 60, heads: 52, embedding: 6656),
        ["llama-65b"] = Llama(layers: 80, heads: 64, embedding: 8192),
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

    // LLaMA 1: 2048 positions, a 32000-token SentencePiece vocabulary (our byte-level BPE stands in).
    private static GptConfig Llama(int layers, int heads, int embedding) => new()
    {
        NumLayers = layers,
        NumHeads = heads,
        EmbeddingSize = embedding,
        MaxSequenceLength = 2048,
        VocabSize = 32000,
        Tokenizer = "bpe",
        Norm = NormKind.RmsNorm,
        Mlp = MlpKind.SwiGlu,
        Position = PositionKind.Rope,
        Bias = false,
        TieEmbeddings = false,
    };
}

using System.Text.Json.Serialization;

namespace Distributed.Models.Tokenizers;

/// <summary>
/// The shape of <c>tokenizer.json</c>: the kind, plus the data that kind needs (the others stay null).
/// </summary>
internal sealed record TokenizerFileContents
{
    [JsonPropertyName("kind")] public string? Kind { get; init; }

    /// <summary>Character tokenizer: the vocabulary in id order, one Unicode character per entry.</summary>
    [JsonPropertyName("chars")] public List<string>? Chars { get; init; }

    /// <summary>BPE: token (GPT-2 byte-level spelling) to id, as in a Hugging Face vocab.json.</summary>
    [JsonPropertyName("vocab")] public Dictionary<string, int>? Vocab { get; init; }

    /// <summary>BPE: merges in the order learned, "left right" in byte-level spelling, as in a merges.txt.</summary>
    [JsonPropertyName("merges")] public List<string>? Merges { get; init; }
}

using System.Text;

namespace Distributed.Models.Tokenizers;

/// <summary>
/// One token per Unicode character, with ids in code-point order (as nanoGPT's sorted(set(text))).
/// A character outside the Basic Multilingual Plane, such as an emoji, is one token even though
/// .NET stores it as a surrogate pair of two chars.
/// </summary>
public sealed class CharTokenizer : ITokenizer
{
    public const string KindName = "char";

    private readonly string[] _characterById;
    private readonly Dictionary<int, int> _idByCodePoint;

    private CharTokenizer(IEnumerable<Rune> characters)
    {
        var sorted = characters.Distinct().Order().ToArray();
        _characterById = sorted.Select(rune => rune.ToString()).ToArray();
        _idByCodePoint = sorted.Select((rune, id) => (rune, id)).ToDictionary(entry => entry.rune.Value, entry => entry.id);
    }

    public int VocabSize => _characterById.Length;

    public string Kind => KindName;

    /// <summary>The vocabulary in id order, one character per entry.</summary>
    public IReadOnlyList<string> Characters => _characterById;

    /// <summary>Learns the vocabulary: every distinct character of <paramref name="text"/>.</summary>
    public static CharTokenizer Train(string text)
    {
        UnicodeText.ThrowIfMalformed(text, nameof(text));
        return new CharTokenizer(text.EnumerateRunes());
    }

    public int[] Encode(string text)
    {
        UnicodeText.ThrowIfMalformed(text, nameof(text));
        var ids = new List<int>(text.Length);
        var index = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (!_idByCodePoint.TryGetValue(rune.Value, out var id))
            {
                throw new ArgumentException(
                    $"The character {UnicodeText.Describe(rune)} at index {index} is not in this character tokenizer's " +
                    $"vocabulary of {VocabSize} characters learned from the training text; use the bpe tokenizer, " +
                    "or train the char tokenizer on text that contains it.", nameof(text));
            }
            ids.Add(id);
            index += rune.Utf16SequenceLength;
        }
        return ids.ToArray();
    }

    public string Decode(ReadOnlySpan<int> ids)
    {
        var text = new StringBuilder(ids.Length);
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)_characterById.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id,
                    $"Token id {id} is outside this character tokenizer's vocabulary [0, {VocabSize}).");
            }
            text.Append(_characterById[id]);
        }
        return text.ToString();
    }

    public void Save(string directory) => TokenizerFiles.Write(directory, Contents());

    public string ToJson() => TokenizerFiles.Serialize(Contents());

    private TokenizerFileContents Contents() => new TokenizerFileContents { Kind = KindName, Chars = [.. _characterById] };

    internal static CharTokenizer FromFile(TokenizerFileContents contents, string path)
    {
        if (contents.Chars is not { } characters)
        {
            throw new InvalidDataException($"'{path}' is a char tokenizer without its \"chars\" list; save the tokenizer again.");
        }

        var runes = new List<Rune>(characters.Count);
        foreach (var character in characters)
        {
            // Each entry must be exactly one Unicode character, or ids would shift against the saved model.
            if (Rune.DecodeFromUtf16(character, out var rune, out var consumed) != System.Buffers.OperationStatus.Done
                || consumed != character.Length)
            {
                throw new InvalidDataException(
                    $"'{path}' has the entry \"{character}\" in \"chars\"; each entry must be exactly one Unicode character.");
            }
            runes.Add(rune);
        }

        var tokenizer = new CharTokenizer(runes);
        if (!tokenizer._characterById.SequenceEqual(characters))
        {
            throw new InvalidDataException(
                $"'{path}' lists \"chars\" that are not distinct and in code-point order, so its ids cannot be trusted; save the tokenizer again.");
        }
        return tokenizer;
    }
}

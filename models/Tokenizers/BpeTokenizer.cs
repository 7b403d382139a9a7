using Microsoft.ML.Tokenizers;
using MlBpeTokenizer = Microsoft.ML.Tokenizers.BpeTokenizer;

namespace Distributed.Models.Tokenizers;

/// <summary>
/// Byte-level BPE as in GPT-2: text becomes UTF-8 bytes (ids 0..255), then learned merges join frequent
/// neighbours inside each word. Any text encodes, even characters never seen in training, and
/// Decode(Encode(text)) == text for all valid Unicode.
/// Training is ours (<see cref="BpeTrainer"/>); encoding and decoding are Microsoft.ML.Tokenizers'
/// byte-level BpeTokenizer fed the learned vocabulary and merges, which already applies merges by rank
/// with a per-word cache.
/// </summary>
public sealed class BpeTokenizer : ITokenizer
{
    public const string KindName = "bpe";
    public const int ByteTokenCount = 256;
    /// <summary>Far above what a corpus this trainer handles can fill; a larger request is almost surely a typo.</summary>
    public const int MaxVocabSize = 65_536;

    private readonly Dictionary<string, int> _idBySpelling;
    private readonly List<string> _merges;
    private readonly MlBpeTokenizer _codec;

    private BpeTokenizer(Dictionary<string, int> idBySpelling, List<string> merges)
    {
        _idBySpelling = idBySpelling;
        _merges = merges;
        _codec = MlBpeTokenizer.Create(new BpeOptions(idBySpelling)
        {
            Merges = merges,
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(WordSplitter.Gpt2Pattern(), specialTokens: null),
        });
    }

    public int VocabSize => _idBySpelling.Count;

    public string Kind => KindName;

    /// <summary>Learns merges on <paramref name="corpus"/> until the vocabulary has <paramref name="vocabSize"/> tokens.</summary>
    public static BpeTokenizer Train(string corpus, int vocabSize)
    {
        ThrowIfVocabSizeOutOfRange(vocabSize);
        UnicodeText.ThrowIfMalformed(corpus, nameof(corpus));
        var learned = BpeTrainer.Train(corpus, vocabSize);

        var idBySpelling = new Dictionary<string, int>(learned.TokenBytes.Count);
        for (var id = 0; id < learned.TokenBytes.Count; id++)
        {
            idBySpelling.Add(ByteLevelAlphabet.Spell(learned.TokenBytes[id]), id);
        }
        var merges = learned.Merges
            .Select(m => $"{ByteLevelAlphabet.Spell(learned.TokenBytes[m.Left])} {ByteLevelAlphabet.Spell(learned.TokenBytes[m.Right])}")
            .ToList();
        return new BpeTokenizer(idBySpelling, merges);
    }

    public int[] Encode(string text)
    {
        UnicodeText.ThrowIfMalformed(text, nameof(text));
        return [.. _codec.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false)];
    }

    /// <summary>
    /// Ids that end inside a multi-byte character (as a sampled prefix may) decode that partial character as U+FFFD.
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        foreach (var id in ids)
        {
            // The library silently drops unknown ids; a model emitting one is a bug worth hearing about.
            if ((uint)id >= (uint)VocabSize)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id,
                    $"Token id {id} is outside this BPE tokenizer's vocabulary [0, {VocabSize}).");
            }
        }
        return _codec.Decode(ids.ToArray());
    }

    public void Save(string directory) => TokenizerFiles.Write(directory, Contents());

    public string ToJson() => TokenizerFiles.Serialize(Contents());

    private TokenizerFileContents Contents() => new TokenizerFileContents { Kind = KindName, Vocab = _idBySpelling, Merges = _merges };

    internal static void ThrowIfVocabSizeOutOfRange(int vocabSize)
    {
        if (vocabSize is < ByteTokenCount or > MaxVocabSize)
        {
            throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize,
                $"vocab_size {vocabSize} is out of range for byte-level BPE: it needs {ByteTokenCount} byte tokens plus merges, " +
                $"and at most {MaxVocabSize}. Set vocab_size between {ByteTokenCount} and {MaxVocabSize}.");
        }
    }

    internal static BpeTokenizer FromFile(TokenizerFileContents contents, string path)
    {
        if (contents.Vocab is not { } idBySpelling || contents.Merges is not { } merges)
        {
            throw new InvalidDataException($"'{path}' is a BPE tokenizer without its \"vocab\" and \"merges\"; save the tokenizer again.");
        }
        // Ids index the model's embedding rows, so they must be exactly 0..VocabSize-1, and 0..255 must be the bytes.
        if (idBySpelling.Values.Distinct().Count() != idBySpelling.Count || idBySpelling.Values.Any(id => (uint)id >= (uint)idBySpelling.Count))
        {
            throw new InvalidDataException($"'{path}' has \"vocab\" ids that are not exactly 0..{idBySpelling.Count - 1}; save the tokenizer again.");
        }
        for (var b = 0; b < ByteTokenCount; b++)
        {
            if (idBySpelling.GetValueOrDefault(ByteLevelAlphabet.Spell([(byte)b]), -1) != b)
            {
                throw new InvalidDataException($"'{path}' does not map byte {b} to id {b}, so it is not a byte-level vocabulary; save the tokenizer again.");
            }
        }

        try
        {
            return new BpeTokenizer(idBySpelling, merges);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidDataException($"'{path}' has merges that do not fit its vocab ({e.Message}); save the tokenizer again.", e);
        }
    }
}

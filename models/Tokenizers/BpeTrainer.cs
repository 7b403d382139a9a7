using System.Runtime.InteropServices;
using System.Text;

namespace Distributed.Models.Tokenizers;

/// <summary>
/// Learns byte-level BPE merges. The corpus is split into GPT-2 pieces and only distinct pieces are kept,
/// with their frequencies, so the work scales with the vocabulary of words, not the length of the text.
/// Pair counts are updated incrementally: a merge touches only the words that contain the merged pair,
/// found through an index from pair to words, and the most frequent pair comes from a heap whose stale
/// entries are skipped when popped. Ties go to the smallest (left, right) ids so training is deterministic.
/// </summary>
internal static class BpeTrainer
{
    public static BpeMerges Train(string corpus, int vocabSize)
    {
        var words = DistinctPieces(corpus);
        var tokenBytes = Enumerable.Range(0, BpeTokenizer.ByteTokenCount).Select(b => new[] { (byte)b }).ToList();
        var idBySpelling = tokenBytes.Select((bytes, id) => (bytes, id)).ToDictionary(t => ByteLevelAlphabet.Spell(t.bytes), t => t.id);
        var merges = new List<(int Left, int Right)>();
        var pairs = new PairStatistics(words);

        while (tokenBytes.Count < vocabSize)
        {
            if (!pairs.TryTakeMostFrequent(out var left, out var right))
            {
                throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize,
                    $"This corpus supports a BPE vocabulary of at most {tokenBytes.Count}: after {merges.Count} merges every " +
                    $"word is a single token. Lower vocab_size to {tokenBytes.Count} or less, or train on more text.");
            }

            byte[] bytes = [.. tokenBytes[left], .. tokenBytes[right]];
            var spelling = ByteLevelAlphabet.Spell(bytes);
            // Two different merges can spell the same bytes (e.g. "ab"+"c" and "a"+"bc"); like Hugging Face's trainer,
            // the second reuses the existing id, since a vocabulary maps each spelling to one id.
            if (!idBySpelling.TryGetValue(spelling, out var merged))
            {
                merged = tokenBytes.Count;
                tokenBytes.Add(bytes);
                idBySpelling.Add(spelling, merged);
            }
            merges.Add((left, right));
            pairs.Merge(left, right, merged);
        }
        return new BpeMerges(tokenBytes, merges);
    }

    /// <summary>Each distinct GPT-2 piece of the corpus as UTF-8 bytes, with how often it occurs.</summary>
    private static List<Word> DistinctPieces(string corpus)
    {
        var frequencyByPiece = new Dictionary<string, long>(StringComparer.Ordinal);
        var lookup = frequencyByPiece.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var match in WordSplitter.Gpt2Pattern().EnumerateMatches(corpus))
        {
            CollectionsMarshal.GetValueRefOrAddDefault(lookup, corpus.AsSpan(match.Index, match.Length), out _)++;
        }
        return frequencyByPiece
            .Select(entry => new Word(Encoding.UTF8.GetBytes(entry.Key).Select(b => (int)b).ToArray(), entry.Value))
            .ToList();
    }
}

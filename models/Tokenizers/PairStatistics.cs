
namespace Distributed.Models.Tokenizers;

/// <summary>A distinct pre-tokenized piece of the corpus as its current token ids, and how often it occurs.</summary>
internal sealed class Word(int[] symbols, long frequency)
{
    public int[] Symbols { get; } = symbols;
    public int Length { get; set; } = symbols.Length;
    public long Frequency { get; } = frequency;
}

/// <summary>
/// Occurrence counts of adjacent token pairs across all words, kept current as merges rewrite the words.
/// </summary>
internal sealed class PairStatistics
{
    private readonly List<Word> _words;
    private readonly Dictionary<long, long> _countByPair = [];
    // May list a word twice or list one that no longer has the pair; Merge skips those, which is cheaper than keeping it exact.
    private readonly Dictionary<long, List<int>> _wordsByPair = [];
    private readonly PriorityQueue<long, (long Count, long Pair)> _mostFrequentFirst = new(Comparer<(long Count, long Pair)>.Create(
        (a, b) => a.Count != b.Count ? b.Count.CompareTo(a.Count) : a.Pair.CompareTo(b.Pair)));
    private readonly int[] _lastMergeThatVisited;
    private readonly Dictionary<long, long> _changes = [];
    private int _mergeNumber;

    public PairStatistics(List<Word> words)
    {
        _words = words;
        _lastMergeThatVisited = new int[words.Count];
        for (var w = 0; w < words.Count; w++)
        {
            var word = words[w];
            for (var i = 0; i + 1 < word.Length; i++)
            {
                var pair = Key(word.Symbols[i], word.Symbols[i + 1]);
                _countByPair[pair] = _countByPair.GetValueOrDefault(pair) + word.Frequency;
                WordsWith(pair).Add(w);
            }
        }
        foreach (var (pair, count) in _countByPair)
        {
            _mostFrequentFirst.Enqueue(pair, (count, pair));
        }
    }

    /// <summary>The pair with the highest count (smallest ids on ties); false when no word has two tokens left.</summary>
    public bool TryTakeMostFrequent(out int left, out int right)
    {
        // The heap holds one entry per count a pair has had; only the one matching the current count is live.
        while (_mostFrequentFirst.TryDequeue(out var pair, out var queued))
        {
            if (_countByPair.TryGetValue(pair, out var count) && count == queued.Count)
            {
                (left, right) = ((int)(pair >> 32), (int)pair);
                return true;
            }
        }
        (left, right) = (0, 0);
        return false;
    }

    /// <summary>Replaces every (left, right) in every word by <paramref name="merged"/>, left to right, and updates the counts.</summary>
    public void Merge(int left, int right, int merged)
    {
        _mergeNumber++;
        var mergedPair = Key(left, right);
        _changes.Clear();
        foreach (var w in _wordsByPair[mergedPair])
        {
            if (_lastMergeThatVisited[w] == _mergeNumber)
            {
                continue;
            }
            _lastMergeThatVisited[w] = _mergeNumber;
            RewriteWord(w, left, right, merged);
        }
        // A merge leaves no (left, right) behind: every occurrence became one token.
        _wordsByPair.Remove(mergedPair);

        foreach (var (pair, change) in _changes)
        {
            if (change == 0)
            {
                continue;
            }
            var count = _countByPair.GetValueOrDefault(pair) + change;
            if (count == 0)
            {
                _countByPair.Remove(pair);
            }
            else
            {
                _countByPair[pair] = count;
                _mostFrequentFirst.Enqueue(pair, (count, pair));
            }
        }
    }

    private void RewriteWord(int w, int left, int right, int merged)
    {
        var word = _words[w];
        var symbols = word.Symbols;
        CountPairs(word, -word.Frequency);

        var written = 0;
        for (var read = 0; read < word.Length; written++)
        {
            if (read + 1 < word.Length && symbols[read] == left && symbols[read + 1] == right)
            {
                symbols[written] = merged;
                read += 2;
            }
            else
            {
                symbols[written] = symbols[read++];
            }
        }
        word.Length = written;

        CountPairs(word, word.Frequency);
        for (var i = 0; i + 1 < word.Length; i++)
        {
            // Only pairs with the new token are new to this word; its other pairs already list it.
            if (symbols[i] == merged || symbols[i + 1] == merged)
            {
                WordsWith(Key(symbols[i], symbols[i + 1])).Add(w);
            }
        }
    }

    private void CountPairs(Word word, long change)
    {
        for (var i = 0; i + 1 < word.Length; i++)
        {
            var pair = Key(word.Symbols[i], word.Symbols[i + 1]);
            _changes[pair] = _changes.GetValueOrDefault(pair) + change;
        }
    }

    private List<int> WordsWith(long pair)
    {
        if (!_wordsByPair.TryGetValue(pair, out var words))
        {
            words = [];
            _wordsByPair.Add(pair, words);
        }
        return words;
    }

    /// <summary>Packs a pair into one sortable number: ordering keys orders by left id, then right id.</summary>
    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;
}

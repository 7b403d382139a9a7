using System.Text;
using Distributed.Models.Tokenizers;
using Distributed.Models;

namespace Distributed.Tests.Tokenizers;

public class BpeTrainerTests
{
    [Fact]
    public void Incremental_training_learns_the_same_merges_as_recounting_every_pair_each_time()
    {
        var corpus = SyntheticText.Generate(20_000, seed: 3) + " naïve 日本語 😀😀 aaaa aaaaa";

        var learned = BpeTrainer.Train(corpus, 380);

        Assert.Equal(ReferenceMerges(corpus, 380), learned.Merges);
    }

    /// <summary>
    /// The textbook algorithm, slow but obviously right: count every pair in every piece, merge the most frequent
    /// (ties to the smallest ids), repeat. Spellings are tracked so a repeated spelling reuses its id, as the trainer does.
    /// </summary>
    private static List<(int Left, int Right)> ReferenceMerges(string corpus, int vocabSize)
    {
        var pieces = WordSplitter.Gpt2Pattern().Matches(corpus)
            .Select(match => Encoding.UTF8.GetBytes(match.Value).Select(b => (int)b).ToList())
            .ToList();
        var spellings = Enumerable.Range(0, 256).Select(b => ((char)b).ToString()).ToList();
        var merges = new List<(int Left, int Right)>();
        while (spellings.Count < vocabSize)
        {
            var counts = new Dictionary<(int, int), int>();
            foreach (var piece in pieces)
            {
                for (var i = 0; i + 1 < piece.Count; i++)
                {
                    counts[(piece[i], piece[i + 1])] = counts.GetValueOrDefault((piece[i], piece[i + 1])) + 1;
                }
            }
            var ((left, right), _) = counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key.Item1).ThenBy(c => c.Key.Item2).First();
            var spelling = spellings[left] + spellings[right];
            var merged = spellings.IndexOf(spelling);
            if (merged < 0)
            {
                merged = spellings.Count;
                spellings.Add(spelling);
            }
            merges.Add((left, right));
            foreach (var piece in pieces)
            {
                for (var i = 0; i + 1 < piece.Count; i++)
                {
                    if (piece[i] == left && piece[i + 1] == right)
                    {
                        piece[i] = merged;
                        piece.RemoveAt(i + 1);
                    }
                }
            }
        }
        return merges;
    }
}

using System.Text;
using Distributed.Models;

namespace Distributed.Tests.Tokenizers;

/// <summary>Deterministic prose-like text for tokenizer tests: a made-up vocabulary of words drawn with skewed frequencies.</summary>
internal static class SyntheticText
{
    private static readonly string[] Syllables = ["th", "e", "an", "ou", "ing", "st", "re", "lo", "rd", "ki", "ng", "mé", "qu", "ee", "n"];
    private static readonly string[] Separators = [" ", " ", " ", " ", ", ", ". ", "!\n", ":\n\n", " ", "; "];

    public static string Generate(int approximateLength, long seed = 7)
    {
        var rng = new Rng(seed);
        var words = Enumerable.Range(0, 400).Select(_ => MakeWord(rng)).ToArray();
        var text = new StringBuilder(approximateLength + 32);
        while (text.Length < approximateLength)
        {
            // Squaring a uniform draw favours low indices, giving common and rare words as in real text.
            var u = rng.NextDouble();
            text.Append(words[(int)(u * u * words.Length)]);
            text.Append(Separators[rng.NextInt(Separators.Length)]);
        }
        return text.ToString();
    }

    private static string MakeWord(Rng rng)
    {
        var word = string.Concat(Enumerable.Range(0, 1 + rng.NextInt(3)).Select(_ => Syllables[rng.NextInt(Syllables.Length)]));
        return rng.NextInt(8) == 0 ? char.ToUpperInvariant(word[0]) + word[1..] : word;
    }
}

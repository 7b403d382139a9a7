using System.Text.RegularExpressions;

namespace Distributed.Models.Tokenizers;

/// <summary>
/// GPT-2's pre-tokenization: splits text into words, numbers, punctuation runs and whitespace, each taking
/// at most one leading space. BPE learns and applies merges only inside one piece, so no token spans a word boundary.
/// The pattern matches every character, so the pieces always concatenate back to the text.
/// </summary>
internal static partial class WordSplitter
{
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    public static partial Regex Gpt2Pattern();
}

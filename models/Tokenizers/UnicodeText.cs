using System.Text;

namespace Distributed.Models.Tokenizers;

/// <summary>Checks shared by the tokenizers: text must be well-formed UTF-16 so it round-trips through Unicode.</summary>
internal static class UnicodeText
{
    /// <summary>
    /// An unpaired surrogate has no Unicode (and so no UTF-8) form; without this check it would be
    /// silently replaced and Decode(Encode(text)) would differ from the text.
    /// </summary>
    public static void ThrowIfMalformed(string text, string parameterName)
    {
        var remaining = text.AsSpan();
        while (!remaining.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(remaining, out _, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                var index = text.Length - remaining.Length;
                throw new ArgumentException(
                    $"The text has an unpaired UTF-16 surrogate (U+{(int)text[index]:X4}) at index {index}, which is not valid Unicode; " +
                    "remove it or fix the text's encoding.", parameterName);
            }
            remaining = remaining[consumed..];
        }
    }

    /// <summary>A character as an error message should show it: visible glyphs quoted, control characters by code point only.</summary>
    public static string Describe(Rune rune) =>
        Rune.IsControl(rune) || Rune.IsWhiteSpace(rune)
            ? $"U+{rune.Value:X4}"
            : $"'{rune}' (U+{rune.Value:X4})";
}

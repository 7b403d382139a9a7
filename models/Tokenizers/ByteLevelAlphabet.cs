using System.Text;

namespace Distributed.Models.Tokenizers;

/// <summary>
/// GPT-2's byte-to-unicode table: each of the 256 byte values gets a printable character (space becomes 'Ġ',
/// newline 'Ċ'), so byte-level tokens can be written as strings in vocab and merges. Microsoft.ML.Tokenizers'
/// byte-level BPE expects exactly this spelling.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] CharacterByByte = BuildTable();

    public static string Spell(ReadOnlySpan<byte> bytes)
    {
        var spelled = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            spelled.Append(CharacterByByte[b]);
        }
        return spelled.ToString();
    }

    /// <summary>Printable Latin-1 bytes keep their own character; the rest are moved to U+0100 onwards, in byte order.</summary>
    private static char[] BuildTable()
    {
        var table = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }
}

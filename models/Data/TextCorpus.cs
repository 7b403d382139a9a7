using System.Text;

namespace Distributed.Models.Data;

/// <summary>Reads a training text: a UTF-8 file (a byte-order mark is skipped), refused when it is not UTF-8 or holds no text.</summary>
public static class TextCorpus
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <param name="path">A UTF-8 text file.</param>
    public static string Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"--data '{path}' does not exist (looked for '{Path.GetFullPath(path)}'); pass the path of a UTF-8 text file with --data <path>.", path);
        }
        return Decode(File.ReadAllBytes(path), path);
    }

    /// <summary>The text of a file's bytes; <paramref name="source"/> names it in errors.</summary>
    public static string Decode(byte[] bytes, string source)
    {
        string text;
        try
        {
            // Skips a byte-order mark, which editors on Windows like to add and which is not part of the text.
            var byteOrderMark = Encoding.UTF8.Preamble;
            var start = bytes.AsSpan().StartsWith(byteOrderMark) ? byteOrderMark.Length : 0;
            text = StrictUtf8.GetString(bytes, start, bytes.Length - start);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException(
                $"'{source}' is not valid UTF-8 (bad bytes near byte {e.Index}); convert it to UTF-8 and pass it again with --data <path>.", e);
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new InvalidDataException($"'{source}' holds no text ({bytes.Length} bytes); pass a text file to train on with --data <path>.");
        }
        return text;
    }
}

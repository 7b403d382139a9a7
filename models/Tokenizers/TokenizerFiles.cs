using System.Text.Encodings.Web;
using System.Text.Json;

namespace Distributed.Models;

/// <summary>Reads and writes <c>tokenizer.json</c>, the one file that lets a run reload whichever tokenizer it trained.</summary>
public static class TokenizerFiles
{
    public const string FileName = "tokenizer.json";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        // Keeps tokens such as "Ġthe" or "é" readable in the file instead of \u escapes; the file is never embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Reloads the tokenizer that <see cref="ITokenizer.Save"/> wrote into <paramref name="directory"/>.</summary>
    public static ITokenizer Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"There is no {FileName} in '{directory}'; point to the run directory the tokenizer was saved in.", path);
        }

        TokenizerFileContents? contents;
        try
        {
            contents = JsonSerializer.Deserialize<TokenizerFileContents>(File.ReadAllText(path), JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid tokenizer JSON ({e.Message}); save the tokenizer again.", e);
        }

        return contents?.Kind switch
        {
            CharTokenizer.KindName => CharTokenizer.FromFile(contents, path),
            BpeTokenizer.KindName => BpeTokenizer.FromFile(contents, path),
            var kind => throw new InvalidDataException(
                $"'{path}' has tokenizer kind '{kind ?? "(missing)"}'; expected \"{CharTokenizer.KindName}\" or \"{BpeTokenizer.KindName}\"."),
        };
    }

    internal static void Write(string directory, TokenizerFileContents contents) =>
        AtomicFile.Write(Path.Combine(directory, FileName), JsonSerializer.SerializeToUtf8Bytes(contents, JsonOptions));
}

using System.Text.Encodings.Web;
using System.Text.Json;
using Distributed.Models.Checkpoints;

namespace Distributed.Models.Tokenizers;

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

        return FromJson(File.ReadAllText(path), path);
    }

    /// <summary>Rebuilds a tokenizer from the text of a <c>tokenizer.json</c>; <paramref name="source"/> names it in errors.</summary>
    public static ITokenizer FromJson(string json, string source)
    {
        TokenizerFileContents? contents;
        try
        {
            contents = JsonSerializer.Deserialize<TokenizerFileContents>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{source}' is not valid tokenizer JSON ({e.Message}); save the tokenizer again.", e);
        }

        return contents?.Kind switch
        {
            CharTokenizer.KindName => CharTokenizer.FromFile(contents, source),
            BpeTokenizer.KindName => BpeTokenizer.FromFile(contents, source),
            var kind => throw new InvalidDataException(
                $"'{source}' has tokenizer kind '{kind ?? "(missing)"}'; expected \"{CharTokenizer.KindName}\" or \"{BpeTokenizer.KindName}\"."),
        };
    }

    internal static void Write(string directory, TokenizerFileContents contents) =>
        AtomicFile.Write(Path.Combine(directory, FileName), JsonSerializer.SerializeToUtf8Bytes(contents, JsonOptions));

    internal static string Serialize(TokenizerFileContents contents) => JsonSerializer.Serialize(contents, JsonOptions);
}

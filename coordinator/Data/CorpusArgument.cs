using System.Security.Cryptography;
using Distributed.Models.Data;

namespace Distributed.Coordinator.Data;

/// <summary>
/// Turns the --data argument into the text to train on: a UTF-8 file, or the word "tinyshakespeare" for
/// the copy of tinyshakespeare shipped inside the coordinator (data/tinyshakespeare.txt, an embedded
/// resource), so no command needs the network.
/// </summary>
public static class CorpusArgument
{
    /// <summary>The word --data takes for the shipped corpus, and what train and serve use when --data is left out.</summary>
    public const string TinyShakespeare = "tinyshakespeare";

    /// <summary>SHA-256 of karpathy/char-rnn's tinyshakespeare input.txt (1,115,394 bytes), which the embedded copy must have.</summary>
    public const string TinyShakespeareSha256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed";

    private const string ResourceName = "tinyshakespeare.txt";

    /// <param name="dataArgument">A path to a UTF-8 text file, or <see cref="TinyShakespeare"/> (a file by that name wins).</param>
    /// <returns>The text.</returns>
    public static string Read(string dataArgument)
    {
        if (File.Exists(dataArgument))
        {
            return TextCorpus.Read(dataArgument);
        }
        if (dataArgument == TinyShakespeare)
        {
            return TextCorpus.Decode(TinyShakespeareBytes(), $"the embedded {TinyShakespeare}");
        }
        throw new FileNotFoundException(
            $"--data '{dataArgument}' is neither an existing file (looked for '{Path.GetFullPath(dataArgument)}') nor " +
            $"'{TinyShakespeare}'; pass the path of a UTF-8 text file with --data <path>, or --data {TinyShakespeare}.",
            dataArgument);
    }

    /// <summary>The bytes of the embedded tinyshakespeare, checked against <see cref="TinyShakespeareSha256"/>.</summary>
    public static byte[] TinyShakespeareBytes()
    {
        using var stream = typeof(CorpusArgument).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidDataException($"This coordinator build has no embedded {TinyShakespeare}; rebuild it, or pass a text file with --data <path>.");
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        var actual = Convert.ToHexStringLower(SHA256.HashData(bytes.GetBuffer().AsSpan(0, (int)bytes.Length)));
        if (actual != TinyShakespeareSha256)
        {
            throw new InvalidDataException(
                $"The embedded {TinyShakespeare} has SHA-256 {actual}, not {TinyShakespeareSha256} (was data/tinyshakespeare.txt changed, " +
                "or its line endings converted?); restore it, or pass a text file with --data <path>.");
        }
        return bytes.ToArray();
    }
}

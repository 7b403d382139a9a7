namespace Distributed.Coordinator.Data;

/// <summary>
/// A corpus that --data can name by a word instead of a path: where to download it, and the SHA-256 it must
/// have. Tests substitute a local address for <see cref="Url"/>.
/// </summary>
public sealed record DownloadableCorpus(string Name, Uri Url, string Sha256)
{
    public static DownloadableCorpus TinyShakespeare { get; } = new(
        "tinyshakespeare",
        new Uri("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"),
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed");

    /// <summary>Name of the cached copy inside the cache directory.</summary>
    public string FileName => Name + ".txt";
}

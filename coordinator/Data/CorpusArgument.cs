using System.Security.Cryptography;
using Distributed.Models.Checkpoints;
using Distributed.Models.Data;

namespace Distributed.Coordinator.Data;

/// <summary>Turns the --data argument into a local text file: a path as given, or "tinyshakespeare" (cached, else downloaded).</summary>
public static class CorpusArgument
{
    public static readonly TimeSpan DefaultDownloadTimeout = TimeSpan.FromSeconds(20);

    public static string DefaultCacheDirectory => Path.Combine(
        Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"),
        "distributed-gpt");

    /// <param name="dataArgument">A path to a UTF-8 text file, or the word "tinyshakespeare".</param>
    /// <param name="cacheDirectory">Where the downloaded corpus is kept between runs; defaults to <see cref="DefaultCacheDirectory"/>.</param>
    /// <param name="downloadable">The corpus the word stands for; defaults to <see cref="DownloadableCorpus.TinyShakespeare"/>.</param>
    /// <param name="downloadTimeout">Defaults to <see cref="DefaultDownloadTimeout"/>.</param>
    /// <returns>The path of a local file holding the text.</returns>
    public static string Resolve(string dataArgument, string? cacheDirectory = null,
        DownloadableCorpus? downloadable = null, TimeSpan? downloadTimeout = null)
    {
        downloadable ??= DownloadableCorpus.TinyShakespeare;
        if (File.Exists(dataArgument))
        {
            return dataArgument;
        }
        if (dataArgument == downloadable.Name)
        {
            return CachedOrDownloaded(downloadable, cacheDirectory ?? DefaultCacheDirectory, downloadTimeout ?? DefaultDownloadTimeout);
        }
        throw new FileNotFoundException(
            $"--data '{dataArgument}' is neither an existing file (looked for '{Path.GetFullPath(dataArgument)}') nor " +
            $"'{downloadable.Name}'; pass the path of a UTF-8 text file with --data <path>, or --data {downloadable.Name}.",
            dataArgument);
    }

    private static string CachedOrDownloaded(DownloadableCorpus corpus, string cacheDirectory, TimeSpan timeout)
    {
        var cachePath = Path.Combine(cacheDirectory, corpus.FileName);
        if (File.Exists(cachePath))
        {
            var cached = File.ReadAllBytes(cachePath);
            // A file we cannot vouch for is never overwritten: it may be the user's, so they decide what to do with it.
            var actual = Sha256Hex(cached);
            if (!actual.Equals(corpus.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidDataException(
                    $"The cached '{cachePath}' has SHA-256 {actual}, not the expected {corpus.Sha256}, so it is damaged or a different file; " +
                    $"delete it to download {corpus.Name} again, or pass a local file with --data <path>.");
            }
            return cachePath;
        }

        var downloaded = Download(corpus, timeout);
        var downloadedHash = Sha256Hex(downloaded);
        if (!downloadedHash.Equals(corpus.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException(
                $"The {corpus.Name} download from {corpus.Url} has SHA-256 {downloadedHash}, not the expected {corpus.Sha256}; " +
                "it was not saved. Try again later, or pass a local file with --data <path>.");
        }
        AtomicFile.Write(cachePath, downloaded);
        return cachePath;
    }

    private static byte[] Download(DownloadableCorpus corpus, TimeSpan timeout)
    {
        using var client = new HttpClient { Timeout = timeout };
        try
        {
            using var response = client.Send(new HttpRequestMessage(HttpMethod.Get, corpus.Url));
            response.EnsureSuccessStatusCode();
            using var body = new MemoryStream();
            response.Content.ReadAsStream().CopyTo(body);
            return body.ToArray();
        }
        // Timeouts surface as TaskCanceledException; refused or unresolvable hosts as HttpRequestException.
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            throw new IOException(
                $"Downloading {corpus.Name} from {corpus.Url} failed ({e.Message}); this machine may be offline. " +
                "Pass a local text file with --data <path> instead.", e);
        }
    }

    private static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}

using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Distributed.Coordinator.Data;
using Distributed.Tests.Checkpoints;
using Distributed.Tests.Tokenizers;

namespace Distributed.Tests.Data;

/// <summary>--data tinyshakespeare: downloaded once, verified, cached; refused clearly offline or when tampered with.</summary>
public class CorpusArgumentTests
{
    // Port 9 (discard) has no listener here, so the connection is refused at once: an offline machine in miniature.
    private static readonly Uri Unreachable = new("http://127.0.0.1:9/input.txt");
    private static readonly TimeSpan ShortTimeout = TimeSpan.FromSeconds(5);

    [Fact]
    public void A_missing_path_names_both_ways_to_pass_data()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "no-such-file.txt");

        var error = Assert.Throws<FileNotFoundException>(() => CorpusArgument.Resolve(path, directory.Path));

        Assert.Contains(path, error.Message);
        Assert.Contains("--data <path>", error.Message);
        Assert.Contains("tinyshakespeare", error.Message);
    }

    [Fact]
    public void A_cached_file_with_the_wrong_checksum_is_rejected_and_kept()
    {
        using var directory = new TempDirectory();
        var cached = Path.Combine(directory.Path, "tinyshakespeare.txt");
        File.WriteAllText(cached, "not the real tiny shakespeare");

        var error = Assert.Throws<InvalidDataException>(() => CorpusArgument.Resolve("tinyshakespeare", directory.Path,
            DownloadableCorpus.TinyShakespeare with { Url = Unreachable }, ShortTimeout));

        Assert.Contains(cached, error.Message);
        Assert.Contains(DownloadableCorpus.TinyShakespeare.Sha256, error.Message);
        Assert.Equal("not the real tiny shakespeare", File.ReadAllText(cached));
    }

    [Fact]
    public void Offline_download_fails_fast_and_says_to_pass_a_local_file()
    {
        using var directory = new TempDirectory();

        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<IOException>(() => CorpusArgument.Resolve("tinyshakespeare", directory.Path,
            DownloadableCorpus.TinyShakespeare with { Url = Unreachable }, ShortTimeout));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"failing took {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Contains("failed", error.Message);
        Assert.Contains("--data <path>", error.Message);
        Assert.False(File.Exists(Path.Combine(directory.Path, "tinyshakespeare.txt")));
    }

    [Fact]
    public void A_verified_download_is_cached_and_reused()
    {
        using var directory = new TempDirectory();
        var body = Encoding.UTF8.GetBytes(SyntheticText.Generate(2_000));
        using var server = new OneShotHttpServer(body);
        var corpus = new DownloadableCorpus("tinyshakespeare", server.Url, Convert.ToHexStringLower(SHA256.HashData(body)));

        var downloaded = File.ReadAllText(CorpusArgument.Resolve("tinyshakespeare", directory.Path, corpus, ShortTimeout));
        // The server answers only once, so this second call can only succeed from the cache.
        var cached = File.ReadAllText(CorpusArgument.Resolve("tinyshakespeare", directory.Path, corpus, ShortTimeout));

        Assert.Equal(Encoding.UTF8.GetString(body), downloaded);
        Assert.Equal(downloaded, cached);
        Assert.Equal(["tinyshakespeare.txt"], Directory.GetFiles(directory.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void A_download_with_the_wrong_checksum_is_not_saved()
    {
        using var directory = new TempDirectory();
        using var server = new OneShotHttpServer("tampered"u8.ToArray());

        var error = Assert.Throws<InvalidDataException>(() => CorpusArgument.Resolve("tinyshakespeare", directory.Path,
            DownloadableCorpus.TinyShakespeare with { Url = server.Url }, ShortTimeout));

        Assert.Contains("not saved", error.Message);
        Assert.Empty(Directory.GetFiles(directory.Path));
    }
}

using System.CommandLine;
using System.Security.Cryptography;
using Distributed.Coordinator.Commands;
using Distributed.Coordinator.Data;
using Distributed.Tests.Checkpoints;

namespace Distributed.Tests.Data;

/// <summary>--data tinyshakespeare, and train's default: the copy shipped inside the coordinator, no network.</summary>
public class EmbeddedCorpusTests
{
    [Fact]
    public void The_word_reads_the_embedded_copy_with_its_published_checksum()
    {
        var bytes = CorpusArgument.TinyShakespeareBytes();
        var text = CorpusArgument.Read("tinyshakespeare");

        Assert.Equal(1_115_394, bytes.Length);
        Assert.Equal(CorpusArgument.TinyShakespeareSha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        Assert.StartsWith("First Citizen:\nBefore we proceed any further, hear me speak.", text);
        Assert.Equal(bytes.Length, text.Length);   // plain ASCII
    }

    [Fact]
    public void The_repository_copy_is_the_one_embedded()
    {
        // data/tinyshakespeare.txt from the test's output folder up to the repository root.
        var root = Repository.Root();
        Assert.True(File.Exists(Path.Combine(root, "Distributed.sln")));
        Assert.Equal(CorpusArgument.TinyShakespeareBytes(), File.ReadAllBytes(Path.Combine(root, "data", "tinyshakespeare.txt")));
    }

    [Fact]
    public void A_path_is_read_as_a_file()
    {
        using var directory = new TempDirectory();
        var path = directory.File("input.txt");
        File.WriteAllText(path, "To be, or not to be");

        Assert.Equal("To be, or not to be", CorpusArgument.Read(path));
    }

    [Fact]
    public void A_missing_path_names_both_ways_to_pass_data()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "no-such-file.txt");

        var error = Assert.Throws<FileNotFoundException>(() => CorpusArgument.Read(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("--data <path>", error.Message);
        Assert.Contains("--data tinyshakespeare", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Train_without_data_trains_on_tinyshakespeare()
    {
        var training = new TrainingOptions();
        var command = new Command("train");
        training.AddTo(command);

        var options = training.Read(command.Parse(["--config", "c.json", "--out", "o"]), _ => { });

        Assert.Equal(CorpusArgument.TinyShakespeare, options.Data);
        Assert.Equal("input.txt", training.Read(command.Parse(["--data", "input.txt"]), _ => { }).Data);
    }
}

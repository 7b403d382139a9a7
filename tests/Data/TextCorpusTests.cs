using System.Text;
using Distributed.Models.Data;
using Distributed.Tests.Checkpoints;

namespace Distributed.Tests.Data;

public class TextCorpusTests
{
    [Fact]
    public void An_existing_file_is_read_as_utf8()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "corpus.txt");
        File.WriteAllText(path, "First Citizen:\nBefore we proceed any further, hear me speak. — naïve 😀", new UTF8Encoding(true));

        var text = TextCorpus.Read(path);

        Assert.Equal("First Citizen:\nBefore we proceed any further, hear me speak. — naïve 😀", text);
    }

    [Fact]
    public void A_file_that_is_not_utf8_is_rejected_with_its_path()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "latin1.txt");
        File.WriteAllBytes(path, [0x63, 0x61, 0x66, 0xE9]); // "café" in Latin-1

        var error = Assert.Throws<InvalidDataException>(() => TextCorpus.Read(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("not valid UTF-8", error.Message);
    }

    [Fact]
    public void A_missing_path_is_named_with_what_to_pass_instead()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "no-such-file.txt");

        var error = Assert.Throws<FileNotFoundException>(() => TextCorpus.Read(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("--data <path>", error.Message);
    }

    [Fact]
    public void A_file_without_text_is_refused_before_training()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "empty.txt");
        File.WriteAllText(path, " \n");

        var error = Assert.Throws<InvalidDataException>(() => TextCorpus.Read(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("holds no text", error.Message);
    }
}

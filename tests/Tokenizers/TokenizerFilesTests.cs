using Distributed.Models.Tokenizers;
using Distributed.Models;
using Distributed.Tests.Checkpoints;

namespace Distributed.Tests.Tokenizers;

public class TokenizerFilesTests
{
    [Fact]
    public void Loading_a_directory_without_a_tokenizer_names_the_directory()
    {
        using var directory = new TempDirectory();

        var error = Assert.Throws<FileNotFoundException>(() => TokenizerFiles.Load(directory.Path));

        Assert.Contains(directory.Path, error.Message);
        Assert.Contains(TokenizerFiles.FileName, error.Message);
    }

    [Theory]
    [InlineData("char")]
    [InlineData("bpe")]
    public void The_json_text_rebuilds_a_tokenizer_that_encodes_alike_and_matches_the_saved_file(string kind)
    {
        const string text = "To be, or not to be: that is the question. Ay, there's the rub.";
        var tokenizer = TokenizerFactory.Create(kind, text, kind == "bpe" ? 260 : 0);
        using var directory = new TempDirectory();
        tokenizer.Save(directory.Path);

        var rebuilt = TokenizerFiles.FromJson(tokenizer.ToJson(), "sent over the wire");

        Assert.Equal(tokenizer.Encode(text), rebuilt.Encode(text));
        Assert.Equal(File.ReadAllText(Path.Combine(directory.Path, TokenizerFiles.FileName)), tokenizer.ToJson());
    }

    [Fact]
    public void An_unknown_kind_is_named_in_the_error()
    {
        using var directory = new TempDirectory();
        File.WriteAllText(Path.Combine(directory.Path, TokenizerFiles.FileName), """{ "kind": "wordpiece" }""");

        var error = Assert.Throws<InvalidDataException>(() => TokenizerFiles.Load(directory.Path));

        Assert.Contains("'wordpiece'", error.Message);
    }

    [Fact]
    public void Malformed_json_is_reported_with_the_file()
    {
        using var directory = new TempDirectory();
        File.WriteAllText(Path.Combine(directory.Path, TokenizerFiles.FileName), "{ not json");

        var error = Assert.Throws<InvalidDataException>(() => TokenizerFiles.Load(directory.Path));

        Assert.Contains(TokenizerFiles.FileName, error.Message);
    }

    [Fact]
    public void Char_vocabulary_out_of_order_is_rejected()
    {
        using var directory = new TempDirectory();
        File.WriteAllText(Path.Combine(directory.Path, TokenizerFiles.FileName), """{ "kind": "char", "chars": ["b", "a"] }""");

        var error = Assert.Throws<InvalidDataException>(() => TokenizerFiles.Load(directory.Path));

        Assert.Contains("code-point order", error.Message);
    }

    [Fact]
    public void Bpe_vocabulary_with_a_gap_in_its_ids_is_rejected()
    {
        using var directory = new TempDirectory();
        BpeTokenizer.Train("aaa aaa aaa", 257).Save(directory.Path);
        var path = Path.Combine(directory.Path, TokenizerFiles.FileName);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"aa\": 256", "\"aa\": 300"));

        var error = Assert.Throws<InvalidDataException>(() => TokenizerFiles.Load(directory.Path));

        Assert.Contains("not exactly 0..256", error.Message);
    }
}

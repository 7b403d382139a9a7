using Distributed.Models.Tokenizers;
using Distributed.Models;
using Distributed.Tests.Checkpoints;

namespace Distributed.Tests.Tokenizers;

public class CharTokenizerTests
{
    [Fact]
    public void Vocabulary_is_the_distinct_characters_in_code_point_order()
    {
        var tokenizer = CharTokenizer.Train("hello world\n");

        Assert.Equal(["\n", " ", "d", "e", "h", "l", "o", "r", "w"], tokenizer.Characters);
        Assert.Equal(9, tokenizer.VocabSize);
        Assert.Equal("char", tokenizer.Kind);
    }

    [Fact]
    public void Encodes_to_character_ids_and_decodes_back()
    {
        var tokenizer = CharTokenizer.Train("abc");

        var ids = tokenizer.Encode("cab");

        Assert.Equal([2, 0, 1], ids);
        Assert.Equal("cab", tokenizer.Decode(ids));
    }

    [Fact]
    public void A_character_outside_the_basic_plane_is_one_token()
    {
        var text = "a😀b😀";
        var tokenizer = CharTokenizer.Train(text);

        var ids = tokenizer.Encode(text);

        Assert.Equal(3, tokenizer.VocabSize);
        Assert.Equal(4, ids.Length);
        Assert.Equal(text, tokenizer.Decode(ids));
        Assert.Equal("😀", tokenizer.Characters[^1]);
    }

    [Fact]
    public void Unknown_character_error_names_the_character_and_where_it_is()
    {
        var tokenizer = CharTokenizer.Train("abc");

        var error = Assert.Throws<ArgumentException>(() => tokenizer.Encode("abz"));

        Assert.Contains("'z' (U+007A)", error.Message);
        Assert.Contains("index 2", error.Message);
    }

    [Fact]
    public void Unpaired_surrogate_is_rejected_with_its_position()
    {
        var error = Assert.Throws<ArgumentException>(() => CharTokenizer.Train("ab\uD800c"));

        Assert.Contains("U+D800", error.Message);
        Assert.Contains("index 2", error.Message);
    }

    [Fact]
    public void Decoding_an_id_outside_the_vocabulary_names_the_id()
    {
        var tokenizer = CharTokenizer.Train("abc");

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([0, 3]));

        Assert.Contains("Token id 3", error.Message);
    }

    [Fact]
    public void Saved_tokenizer_reloads_with_the_same_ids()
    {
        using var directory = new TempDirectory();
        var text = SyntheticText.Generate(5_000) + "\t\"é😀";
        var tokenizer = CharTokenizer.Train(text);

        tokenizer.Save(directory.Path);
        var reloaded = TokenizerFiles.Load(directory.Path);

        Assert.IsType<CharTokenizer>(reloaded);
        Assert.Equal(tokenizer.VocabSize, reloaded.VocabSize);
        Assert.Equal(tokenizer.Encode(text), reloaded.Encode(text));
    }
}

using Distributed.Models.Tokenizers;
using Distributed.Models;
// This test namespace is itself called Tokenizers, so the factory needs its full name.

namespace Distributed.Tests.Tokenizers;

public class TokenizerFactoryTests
{
    [Fact]
    public void Char_with_vocab_size_zero_takes_every_character_of_the_text()
    {
        var tokenizer = TokenizerFactory.Create("char", "abcabc", 0);

        Assert.IsType<CharTokenizer>(tokenizer);
        Assert.Equal(3, tokenizer.VocabSize);
    }

    [Fact]
    public void Char_with_a_ceiling_the_text_fits_under_keeps_the_texts_characters()
    {
        Assert.Equal(3, TokenizerFactory.Create("char", "abcabc", 10).VocabSize);
    }

    [Fact]
    public void Char_with_a_ceiling_below_the_texts_characters_says_how_many_it_has()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => TokenizerFactory.Create("char", "abcd", 3));

        Assert.Contains("4 distinct characters", error.Message);
        Assert.Contains("vocab_size is 3", error.Message);
    }

    [Fact]
    public void Bpe_trains_to_the_requested_size()
    {
        var tokenizer = TokenizerFactory.Create("bpe", SyntheticText.Generate(5_000), 300);

        Assert.IsType<BpeTokenizer>(tokenizer);
        Assert.Equal(300, tokenizer.VocabSize);
    }

    [Fact]
    public void Unknown_kind_is_named_with_the_kinds_that_exist()
    {
        var error = Assert.Throws<ArgumentException>(() => TokenizerFactory.Create("sentencepiece", "text", 0));

        Assert.Contains("'sentencepiece'", error.Message);
        Assert.Contains("\"char\"", error.Message);
        Assert.Contains("\"bpe\"", error.Message);
    }
}

using System.Diagnostics;
using Distributed.Models.Tokenizers;
using Distributed.Models;
using Distributed.Tests.Checkpoints;

namespace Distributed.Tests.Tokenizers;

public class BpeTokenizerTests
{
    // Shared by the tests below: training once keeps the suite fast.
    private static readonly string Corpus = SyntheticText.Generate(60_000);
    private static readonly Lazy<BpeTokenizer> Trained = new(() => BpeTokenizer.Train(Corpus, 400));

    [Fact]
    public void First_merge_is_the_most_frequent_pair_and_applies_left_to_right()
    {
        // Pieces: "aaa" once, " aaa" three times: (a, a) occurs 8 times, (space, a) 3 times.
        var tokenizer = BpeTokenizer.Train("aaa aaa aaa aaa", 257);

        Assert.Equal(257, tokenizer.VocabSize);
        Assert.Equal([256, 97], tokenizer.Encode("aaa"));
        Assert.Equal([32, 256, 256], tokenizer.Encode(" aaaa"));
    }

    [Fact]
    public void Trains_to_exactly_the_requested_vocabulary_and_compresses()
    {
        var tokenizer = Trained.Value;

        Assert.Equal(400, tokenizer.VocabSize);
        Assert.Equal("bpe", tokenizer.Kind);
        Assert.True(tokenizer.Encode(Corpus).Length < Corpus.Length / 2, "merges should at least halve the token count on their own corpus");
    }

    [Theory]
    [InlineData("")]
    [InlineData("the king and the queen")]
    [InlineData("  leading, trailing and   runs of   spaces  ")]
    [InlineData("windows\r\nline\r\n\r\nendings\tand\ttabs\n")]
    [InlineData("naïve café, 日本語のテキスト, Ελληνικά, עברית")]
    [InlineData("emoji 😀👩‍👩‍👧 flags 🇳🇱 and combining e\u0301")]
    [InlineData("numbers 3.14159 and 1,000,000; symbols <>{}[]|\\~`^$#@")]
    [InlineData("\0control\u0001chars\u007f")]
    public void Decoding_the_encoding_gives_back_the_text(string text)
    {
        var tokenizer = Trained.Value;

        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public void Every_id_is_inside_the_vocabulary()
    {
        var tokenizer = Trained.Value;

        var ids = tokenizer.Encode(Corpus[..5_000] + "日本語😀");

        Assert.All(ids, id => Assert.InRange(id, 0, tokenizer.VocabSize - 1));
    }

    [Fact]
    public void No_token_spans_a_word_boundary()
    {
        var tokenizer = Trained.Value;

        for (var id = BpeTokenizer.ByteTokenCount; id < tokenizer.VocabSize; id++)
        {
            var token = tokenizer.Decode([id]);
            // A space may only lead a token (GPT-2 pieces carry one leading space) or be part of a whitespace-only token.
            var isWhitespace = token.All(char.IsWhiteSpace);
            Assert.True(isWhitespace || !token[1..].Contains(' '), $"token {id} '{token}' crosses a word boundary");
        }
    }

    [Fact]
    public void Training_is_deterministic()
    {
        var again = BpeTokenizer.Train(Corpus, 400);

        Assert.Equal(Trained.Value.Encode(Corpus), again.Encode(Corpus));
    }

    [Fact]
    public void Saved_tokenizer_reloads_with_identical_encodings()
    {
        using var directory = new TempDirectory();
        var tokenizer = Trained.Value;
        var text = Corpus[..10_000] + " naïve 😀";

        tokenizer.Save(directory.Path);
        var reloaded = TokenizerFiles.Load(directory.Path);

        Assert.IsType<BpeTokenizer>(reloaded);
        Assert.Equal(tokenizer.VocabSize, reloaded.VocabSize);
        Assert.Equal(tokenizer.Encode(text), reloaded.Encode(text));
        Assert.Equal(text, reloaded.Decode(reloaded.Encode(text)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(255)]
    [InlineData(BpeTokenizer.MaxVocabSize + 1)]
    public void Vocabulary_size_out_of_range_is_rejected_by_value(int vocabSize)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => BpeTokenizer.Train("some text", vocabSize));

        Assert.Contains($"vocab_size {vocabSize}", error.Message);
    }

    [Fact]
    public void A_corpus_too_small_for_the_vocabulary_says_how_far_it_can_go()
    {
        // Pieces "ab" and " ab": merges (a,b), then (space, ab); then every piece is one token.
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => BpeTokenizer.Train("ab ab", 300));

        Assert.Contains("at most 258", error.Message);
    }

    [Fact]
    public void Decoding_an_id_outside_the_vocabulary_names_the_id()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Trained.Value.Decode([1, 400]));

        Assert.Contains("Token id 400", error.Message);
    }

    [Fact]
    public void Trains_a_megabyte_to_512_tokens_in_seconds()
    {
        var megabyte = SyntheticText.Generate(1_000_000, seed: 11);

        var clock = Stopwatch.StartNew();
        var tokenizer = BpeTokenizer.Train(megabyte, 512);
        clock.Stop();

        Assert.Equal(512, tokenizer.VocabSize);
        // Generous for a loaded 2-core machine; a pass over the whole corpus per merge would take far longer.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"training took {clock.Elapsed.TotalSeconds:F1} s");
    }
}


namespace Distributed.Models.Tokenizers;

/// <summary>Builds the tokenizer a run's config asks for (its "tokenizer" and "vocab_size" settings).</summary>
public static class TokenizerFactory
{
    /// <summary>
    /// kind "char": vocabSize 0 takes every character the corpus has; a positive vocabSize is a ceiling the
    /// corpus must fit under (the tokenizer still has only the corpus's characters).
    /// kind "bpe": trains to exactly vocabSize tokens, between 256 and <see cref="BpeTokenizer.MaxVocabSize"/>.
    /// </summary>
    public static ITokenizer Create(string kind, string corpus, int vocabSize) => kind switch
    {
        CharTokenizer.KindName => CreateCharTokenizer(corpus, vocabSize),
        BpeTokenizer.KindName => BpeTokenizer.Train(corpus, vocabSize),
        _ => throw new ArgumentException(
            $"Unknown tokenizer '{kind}'; use \"{CharTokenizer.KindName}\" (one token per character) or \"{BpeTokenizer.KindName}\" (byte-level BPE).",
            nameof(kind)),
    };

    private static CharTokenizer CreateCharTokenizer(string corpus, int vocabSize)
    {
        if (vocabSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize,
                $"vocab_size {vocabSize} is negative; use 0 for \"every character in the text\" or a positive ceiling.");
        }
        var tokenizer = CharTokenizer.Train(corpus);
        if (vocabSize > 0 && tokenizer.VocabSize > vocabSize)
        {
            throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize,
                $"vocab_size is {vocabSize} but the text has {tokenizer.VocabSize} distinct characters; " +
                $"set vocab_size to 0 (take what the text has) or to at least {tokenizer.VocabSize}.");
        }
        return tokenizer;
    }
}

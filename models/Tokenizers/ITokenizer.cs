namespace Distributed.Models.Tokenizers;

/// <summary>Turns text into token ids and back; every kind can be saved and reloaded with <see cref="TokenizerFiles"/>.</summary>
public interface ITokenizer
{
    /// <summary>Number of distinct ids; every id is in [0, VocabSize).</summary>
    int VocabSize { get; }

    /// <summary>What <see cref="TokenizerFiles.Load"/> reads back: "char" or "bpe".</summary>
    string Kind { get; }

    int[] Encode(string text);

    string Decode(ReadOnlySpan<int> ids);

    /// <summary>Writes <c>tokenizer.json</c> into <paramref name="directory"/>, creating the directory if needed.</summary>
    void Save(string directory);

    /// <summary>The text of <c>tokenizer.json</c> (what <see cref="Save"/> writes), e.g. to send it to a worker.</summary>
    string ToJson();
}

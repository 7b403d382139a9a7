using Distributed.Models.Config;
using Distributed.Models;

namespace Distributed.Tests.Config;

public sealed class GptPresetsTests
{
    [Theory]
    [InlineData("gpt2", 12, 12, 768)]
    [InlineData("gpt2-medium", 24, 16, 1024)]
    [InlineData("gpt2-large", 36, 20, 1280)]
    [InlineData("gpt2-xl", 48, 25, 1600)]
    public void PresetsHaveGpt2Shapes(string name, int layers, int heads, int embedding)
    {
        var config = GptPresets.Get(name);

        Assert.Equal((layers, heads, embedding), (config.NumLayers, config.NumHeads, config.EmbeddingSize));
        Assert.Equal((50257, 1024, "bpe"), (config.VocabSize, config.MaxSequenceLength, config.Tokenizer));
        ConfigValidator.Validate(config);
    }

    [Fact]
    public void UnknownPresetListsTheValidOnes()
    {
        var error = Assert.Throws<ConfigException>(() => GptPresets.Get("gpt2-lage"));

        Assert.Equal(
            "unknown preset 'gpt2-lage': valid presets are gpt2, gpt2-medium, gpt2-large, gpt2-xl, gpt3-175b, llama-7b, llama-13b, llama-33b, llama-65b (did you mean 'gpt2-large'?)",
            error.Message);
    }

    [Fact]
    public void UnknownPresetWithNothingCloseOnlyListsTheValidOnes()
    {
        var error = Assert.Throws<ConfigException>(() => GptPresets.Get("llama"));

        Assert.Equal("unknown preset 'llama': valid presets are gpt2, gpt2-medium, gpt2-large, gpt2-xl, gpt3-175b, llama-7b, llama-13b, llama-33b, llama-65b", error.Message);
    }
}

using Distributed.Models.Config;
using Distributed.Models;

namespace Distributed.Tests.Config;

public sealed class ParameterCountTests
{
    [Theory]
    [InlineData("gpt2", 124_439_808L)]
    [InlineData("gpt2-medium", 354_823_168L)]
    [InlineData("gpt2-large", 774_030_080L)]
    [InlineData("gpt2-xl", 1_557_611_200L)]
    [InlineData("gpt3-175b", 174_604_259_328L)]   // the GPT-2 layout at 96 x 12288, context 2048 (the paper's "175B")
    public void PresetsMatchPublishedGpt2Sizes(string preset, long expected)
    {
        var config = GptPresets.Get(preset);

        Assert.Equal(expected, ParameterCount.Of(config).Total);
        Assert.Equal(expected, HuggingFaceTensorShapes(config).Sum(shape => shape.Aggregate(1L, (p, d) => p * d)));
    }

    /// <summary>Hugging Face LlamaConfig's sizes (hidden, layers, intermediate); the published totals of LLaMA 1.</summary>
    [Theory]
    [InlineData("llama-7b", 4096, 32, 11008, 6_738_415_616L)]
    [InlineData("llama-13b", 5120, 40, 13824, 13_015_864_320L)]
    [InlineData("llama-33b", 6656, 60, 17920, 32_528_943_616L)]
    [InlineData("llama-65b", 8192, 80, 22016, 65_285_660_672L)]
    public void LlamaPresetsMatchHuggingFaceCounts(string preset, int hidden, int layers, int intermediate, long expected)
    {
        var config = GptPresets.Get(preset);

        Assert.Equal((hidden, layers, intermediate), (config.EmbeddingSize, config.NumLayers, config.FeedForwardWidth));
        Assert.Equal(expected, ParameterCount.Of(config).Total);
        Assert.Equal(expected, LlamaTensorShapes(32000, hidden, layers, intermediate).Sum(shape => shape.Aggregate(1L, (p, d) => p * d)));
    }

    public static TheoryData<string> EveryPreset => [.. GptPresets.Names];

    [Theory]
    [MemberData(nameof(EveryPreset))]
    public void BreakdownSumsToTheTotalForEveryPreset(string preset) => AssertSumsToTotal(GptPresets.Get(preset));

    [Theory]
    [InlineData("norm=rmsnorm", "bias=false")]
    [InlineData("mlp=swiglu", "position=rope", "tie_embeddings=false")]
    [InlineData("mlp=swiglu", "feed_forward_size=300", "qk_norm=true", "bias=true")]
    [InlineData("position=rope", "activation=relu2", "qk_norm=true", "tie_embeddings=false", "bias=false")]
    public void BreakdownSumsToTheTotalForAnyArchitecture(params string[] overrides) =>
        AssertSumsToTotal(ConfigLoader.Load(new GptConfig { VocabSize = 65 }, null, overrides));

    private static void AssertSumsToTotal(GptConfig config)
    {
        var c = ParameterCount.Of(config);
        var parts = new[]
        {
            c.TokenEmbedding, c.PositionEmbedding, c.AttentionWeights, c.AttentionBiases, c.FeedForwardWeights,
            c.FeedForwardBiases, c.NormWeights, c.NormBiases, c.OutputHead,
        };
        Assert.Equal(c.Total, parts.Sum());
        Assert.Equal(c.Total, c.Weights + c.Biases);
        Assert.Equal(new Distributed.Models.Gpt.ParameterLayout(config).TotalLength, c.Total);
        Assert.Equal(config.Bias ? c.Biases : 0, c.Biases);
        Assert.Equal(config.TieEmbeddings ? 0 : c.TokenEmbedding, c.OutputHead);
    }

    [Fact]
    public void Gpt2BreakdownByKind()
    {
        var counts = ParameterCount.Of(GptPresets.Get("gpt2"));

        Assert.Equal(
            new ParameterBreakdown(
                TokenEmbedding: 50257L * 768,
                PositionEmbedding: 1024L * 768,
                AttentionWeights: 12L * 4 * 768 * 768,
                AttentionBiases: 12L * 4 * 768,
                FeedForwardWeights: 12L * 8 * 768 * 768,
                FeedForwardBiases: 12L * 5 * 768,
                NormWeights: 12L * 2 * 768 + 768,
                NormBiases: 12L * 2 * 768 + 768,
                OutputHead: 0),
            counts);
    }

    [Fact]
    public void LlamaBreakdownByKind()
    {
        var counts = ParameterCount.Of(GptPresets.Get("llama-7b"));

        Assert.Equal(
            new ParameterBreakdown(
                TokenEmbedding: 32000L * 4096,
                PositionEmbedding: 0,
                AttentionWeights: 32L * 4 * 4096 * 4096,
                AttentionBiases: 0,
                FeedForwardWeights: 32L * 3 * 4096 * 11008,
                FeedForwardBiases: 0,
                NormWeights: 32L * 2 * 4096 + 4096,
                NormBiases: 0,
                OutputHead: 32000L * 4096),
            counts);
        Assert.Equal(0, counts.Biases);
    }

    [Fact]
    public void AutoVocabularyNeedsTheTokenizerSize()
    {
        var config = new GptConfig(); // vocab_size 0: the char tokenizer decides

        var error = Assert.Throws<ArgumentException>(() => ParameterCount.Of(config));
        Assert.Contains("vocab_size is 0 (auto)", error.Message);
        Assert.Equal(65L * 128, ParameterCount.Of(config, vocabSize: 65).TokenEmbedding);
    }

    /// <summary>Every tensor of Hugging Face's GPT2Model, an independent check of the formulas.</summary>
    private static IEnumerable<long[]> HuggingFaceTensorShapes(GptConfig config)
    {
        long v = config.VocabSize, t = config.MaxSequenceLength, c = config.EmbeddingSize;
        yield return [v, c]; // wte (lm_head is tied to it)
        yield return [t, c]; // wpe
        for (var i = 0; i < config.NumLayers; i++)
        {
            yield return [c]; yield return [c];         // ln_1
            yield return [c, 3 * c]; yield return [3 * c]; // attn.c_attn
            yield return [c, c]; yield return [c];         // attn.c_proj
            yield return [c]; yield return [c];         // ln_2
            yield return [c, 4 * c]; yield return [4 * c]; // mlp.c_fc
            yield return [4 * c, c]; yield return [c];     // mlp.c_proj
        }
        yield return [c]; yield return [c];             // ln_f
    }

    /// <summary>Every tensor of Hugging Face's LlamaForCausalLM (no biases, untied lm_head).</summary>
    internal static IEnumerable<long[]> LlamaTensorShapes(long vocab, long hidden, int layers, long intermediate)
    {
        yield return [vocab, hidden];                   // model.embed_tokens
        for (var i = 0; i < layers; i++)
        {
            yield return [hidden];                      // input_layernorm
            for (var k = 0; k < 4; k++)
            {
                yield return [hidden, hidden];          // self_attn.q_proj, k_proj, v_proj, o_proj
            }
            yield return [hidden];                      // post_attention_layernorm
            yield return [intermediate, hidden];        // mlp.gate_proj
            yield return [intermediate, hidden];        // mlp.up_proj
            yield return [hidden, intermediate];        // mlp.down_proj
        }
        yield return [hidden];                          // model.norm
        yield return [vocab, hidden];                   // lm_head
    }
}

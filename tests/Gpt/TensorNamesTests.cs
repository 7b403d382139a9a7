using Distributed.Models.Config;
using Distributed.Models.Gpt;
using Distributed.Models;

namespace Distributed.Tests.Gpt;

/// <summary>The parameter table uses the Hugging Face names and shapes of the model's family.</summary>
public sealed class TensorNamesTests
{
    private static readonly GptConfig Small = new() { NumLayers = 2, NumHeads = 2, EmbeddingSize = 8, MaxSequenceLength = 5, VocabSize = 7 };

    private static readonly GptConfig Llama = Small with
    {
        Norm = NormKind.RmsNorm, Mlp = MlpKind.SwiGlu, Position = PositionKind.Rope, Bias = false, TieEmbeddings = false,
        FeedForwardSize = 12,
    };

    private static List<(string Name, int[] Shape)> Table(GptConfig config)
        => new ParameterLayout(config).Views.Select(v => (v.Name, v.Shape)).ToList();

    [Fact]
    public void A_llama_style_model_has_the_state_dict_of_hugging_face_llama_for_causal_lm()
    {
        // LlamaForCausalLM.state_dict() for vocab 7, hidden 8, intermediate 12, 2 layers: nn.Linear weights are [out, in].
        var expected = new List<(string, int[])> { ("model.embed_tokens.weight", [7, 8]) };
        for (var i = 0; i < 2; i++)
        {
            var h = $"model.layers.{i}.";
            expected.AddRange(
            [
                (h + "input_layernorm.weight", [8]),
                (h + "self_attn.q_proj.weight", [8, 8]), (h + "self_attn.k_proj.weight", [8, 8]), (h + "self_attn.v_proj.weight", [8, 8]),
                (h + "self_attn.o_proj.weight", [8, 8]),
                (h + "post_attention_layernorm.weight", [8]),
                (h + "mlp.gate_proj.weight", [12, 8]), (h + "mlp.up_proj.weight", [12, 8]), (h + "mlp.down_proj.weight", [8, 12]),
            ]);
        }
        expected.AddRange([("model.norm.weight", [8]), ("lm_head.weight", [7, 8])]);

        Assert.Equal(expected.OrderBy(e => e.Item1, StringComparer.Ordinal), Table(Llama).OrderBy(e => e.Name, StringComparer.Ordinal),
            (a, b) => a.Item1 == b.Item1 && a.Item2.SequenceEqual(b.Item2));
    }

    [Fact]
    public void Options_add_or_remove_tensors_without_renaming_the_others()
    {
        var gpt2 = Table(Small).Select(t => t.Name).ToList();

        Assert.Equal([.. gpt2, "lm_head.weight"], Table(Small with { TieEmbeddings = false }).Select(t => t.Name));
        Assert.Equal(gpt2.Where(n => n != "wpe.weight"), Table(Small with { Position = PositionKind.Rope }).Select(t => t.Name));
        Assert.Equal(gpt2.Where(n => !n.EndsWith(".bias")), Table(Small with { Bias = false }).Select(t => t.Name));
        Assert.Equal(gpt2.Where(n => !n.Contains("ln_") || !n.EndsWith(".bias")), Table(Small with { Norm = NormKind.RmsNorm }).Select(t => t.Name));
        var qkNorm = Table(Llama with { QkNorm = true });
        Assert.Contains(("model.layers.1.self_attn.q_norm.weight", [4]), qkNorm, SameEntry);
        Assert.Contains(("model.layers.1.self_attn.k_norm.weight", [4]), qkNorm, SameEntry);
        Assert.Contains(("model.embed_positions.weight", [5, 8]), Table(Llama with { Position = PositionKind.Learned }), SameEntry);
        Assert.Contains(("model.layers.0.mlp.gate_proj.bias", [12]), Table(Llama with { Bias = true }), SameEntry);
    }

    [Fact]
    public void A_llama_style_model_has_no_biases_and_decays_only_its_matrices()
    {
        var views = new ParameterLayout(Llama).Views;

        Assert.DoesNotContain(views, v => v.IsBias);
        Assert.All(views, v => Assert.Equal(!v.Name.Contains("norm"), v.Decays));
    }

    private static readonly IEqualityComparer<(string Name, int[] Shape)> SameEntry = EqualityComparer<(string Name, int[] Shape)>.Create(
        (a, b) => a.Name == b.Name && a.Shape.SequenceEqual(b.Shape), e => e.Name.GetHashCode());
}

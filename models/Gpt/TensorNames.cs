namespace Distributed.Models.Gpt;

/// <summary>
/// The modules of one transformer block, by their checkpoint names; a module's tensors add ".weight"
/// and ".bias" to its name.
/// </summary>
/// <param name="QueryKeyValue">One fused module (GPT-2's c_attn: W_Q | W_K | W_V) or three (q, k, v).</param>
/// <param name="Gate">The SwiGLU gate; null for GPT-2's feed-forward, which has none.</param>
public sealed record BlockNames(
    string AttentionNorm, IReadOnlyList<string> QueryKeyValue, string QueryNorm, string KeyNorm, string AttentionOutput,
    string FeedForwardNorm, string? Gate, string Up, string Down);

/// <summary>
/// A GPT's tensor names, as the Hugging Face checkpoint of its family spells them, so its
/// model.safetensors loads there: GPT-2's (GPT2LMHeadModel: wte, h.N.attn.c_attn, ...; weights
/// [in, out], its Conv1D) or, with the SwiGLU feed-forward that only the LLaMA family has,
/// LlamaForCausalLM's (model.embed_tokens, model.layers.N.self_attn.q_proj, ...; weights [out, in],
/// nn.Linear). The other options change which tensors exist, never their names.
/// </summary>
public sealed class TensorNames
{
    private readonly Func<int, BlockNames> _block;

    private TensorNames(string tokenEmbedding, string positionEmbedding, string finalNorm, string untiedHead, bool tied,
        bool weightsOutByIn, Func<int, BlockNames> block)
    {
        TokenEmbedding = tokenEmbedding;
        PositionEmbedding = positionEmbedding;
        FinalNorm = finalNorm;
        OutputHead = tied ? tokenEmbedding : untiedHead;
        WeightsOutByIn = weightsOutByIn;
        _block = block;
    }

    public static TensorNames Of(GptConfig config) => config.Mlp == MlpKind.SwiGlu
        ? new("model.embed_tokens.weight",
            "model.embed_positions.weight",   // learned positions are not LLaMA's; OPT's name
            "model.norm", "lm_head.weight", config.TieEmbeddings, weightsOutByIn: true, layer =>
            {
                var h = $"model.layers.{layer}.";
                return new BlockNames(h + "input_layernorm",
                    [h + "self_attn.q_proj", h + "self_attn.k_proj", h + "self_attn.v_proj"],
                    h + "self_attn.q_norm", h + "self_attn.k_norm",   // Qwen3's names; LLaMA has no QK-norm
                    h + "self_attn.o_proj", h + "post_attention_layernorm",
                    h + "mlp.gate_proj", h + "mlp.up_proj", h + "mlp.down_proj");
            })
        : new("wte.weight", "wpe.weight", "ln_f", "lm_head.weight", config.TieEmbeddings, weightsOutByIn: false, layer =>
            {
                var h = $"h.{layer}.";
                return new BlockNames(h + "ln_1", [h + "attn.c_attn"], h + "attn.q_norm", h + "attn.k_norm", h + "attn.c_proj",
                    h + "ln_2", Gate: null, h + "mlp.c_fc", h + "mlp.c_proj");
            });

    /// <summary>The token embedding [V, C].</summary>
    public string TokenEmbedding { get; }

    /// <summary>The learned position embedding [T, C] (position: learned).</summary>
    public string PositionEmbedding { get; }

    public string FinalNorm { get; }

    /// <summary>The output projection [V, C]: the token embedding itself when tied, else lm_head.</summary>
    public string OutputHead { get; }

    /// <summary>Linear weights are stored [out, in] (y = x W^T) rather than [in, out] (y = x W).</summary>
    public bool WeightsOutByIn { get; }

    public BlockNames Block(int layer) => _block(layer);
}

using Distributed.Models.Autodiff;
using Distributed.Models.Graph;

namespace Distributed.Models.Gpt;

/// <summary>
/// The GPT, written once as ONNX ops on the autodiff tape: token + learned position embeddings,
/// pre-LayerNorm blocks of causal multi-head self-attention and a feed-forward layer, a final
/// LayerNorm and an output projection tied to the token embedding. B and T may be dynamic (-1):
/// the inference graph accepts any batch and any prompt length up to max_sequence_length.
/// </summary>
public static class GptModel
{
    /// <summary>Masked attention scores: large and negative, so softmax gives exactly 0 yet never NaN.</summary>
    private const double MaskedScore = -1e9;

    /// <summary>Logits [B, T, V] for token ids [B, T].</summary>
    public static Value Logits(OnnxGraph g, GptConfig config, Func<string, Value> p, Value ids, DropoutMasks dropout)
    {
        var seq = g.DimOf(ids, 1);
        var tok = g.Embedding(p("wte.weight"), ids);                                 // (B, T, C)
        var pos = g.FirstRows(p("wpe.weight"), seq, ids.Shape[1]);                   // (T, C)
        var x = dropout.Apply(g, g.Add(tok, pos));
        var mask = CausalMask(g, config.MaxSequenceLength, seq, ids.Shape[1]);       // (T, T)
        for (var layer = 0; layer < config.NumLayers; layer++)
        {
            var h = $"h.{layer}.";
            x = g.Add(x, Attention(g, config, p, h, g.LayerNorm(x, p(h + "ln_1.weight"), p(h + "ln_1.bias")), mask, dropout));
            x = g.Add(x, FeedForward(g, config, p, h, g.LayerNorm(x, p(h + "ln_2.weight"), p(h + "ln_2.bias")), dropout));
        }
        x = g.LayerNorm(x, p("ln_f.weight"), p("ln_f.bias"));
        return g.MatMul(x, g.Transpose(p("wte.weight"), 1, 0));                     // (B, T, V), tied to wte
    }

    /// <summary>Mean cross-entropy of next-token prediction over every position of the batch.</summary>
    public static Value Loss(OnnxGraph g, GptConfig config, Value logits, Value targets)
    {
        var flatTargets = g.Op("Reshape", [targets, g.Int64s(-1)], ElementType.Int64, [targets.IsStatic ? targets.Count : -1]);
        return g.CrossEntropy(g.Reshape(logits, [-1, config.VocabSize]), flatTargets);
    }

    private static Value Attention(OnnxGraph g, GptConfig c, Func<string, Value> p, string h, Value x, Value mask, DropoutMasks dropout)
    {
        long heads = c.NumHeads, headSize = c.HeadSize;
        var qkv = g.Add(g.MatMul(x, p(h + "attn.c_attn.weight")), p(h + "attn.c_attn.bias")); // (B, T, 3C)
        var (q, k, v) = g.SplitLast(qkv, 3) switch { var s => (s[0], s[1], s[2]) };
        // (B, T, C) -> (B, nh, T, hs); k goes straight to (B, nh, hs, T) for q @ k^T.
        q = g.Transpose(g.Reshape(q, [0, 0, heads, headSize]), 0, 2, 1, 3);
        k = g.Transpose(g.Reshape(k, [0, 0, heads, headSize]), 0, 2, 3, 1);
        v = g.Transpose(g.Reshape(v, [0, 0, heads, headSize]), 0, 2, 1, 3);
        var scores = g.Add(g.MatMul(g.Scale(q, 1.0 / Math.Sqrt(headSize)), k), mask);       // (B, nh, T, T)
        var weights = dropout.Apply(g, g.Softmax(scores));
        var y = g.Transpose(g.MatMul(weights, v), 0, 2, 1, 3);                               // (B, T, nh, hs)
        y = g.Reshape(y, [0, 0, c.EmbeddingSize]);                                         // (B, T, C)
        return dropout.Apply(g, g.Add(g.MatMul(y, p(h + "attn.c_proj.weight")), p(h + "attn.c_proj.bias")));
    }

    private static Value FeedForward(OnnxGraph g, GptConfig c, Func<string, Value> p, string h, Value x, DropoutMasks dropout)
    {
        var hidden = g.Activate(g.Add(g.MatMul(x, p(h + "mlp.c_fc.weight")), p(h + "mlp.c_fc.bias")), c.Activation); // (B, T, 4C)
        return dropout.Apply(g, g.Add(g.MatMul(hidden, p(h + "mlp.c_proj.weight")), p(h + "mlp.c_proj.bias")));
    }

    /// <summary>0 on and below the diagonal, a large negative score above it; sliced to the sequence length.</summary>
    private static Value CausalMask(OnnxGraph g, int maxLength, Value seq, long staticLength)
    {
        var values = new double[maxLength * maxLength];
        for (var row = 0; row < maxLength; row++)
        {
            for (var col = row + 1; col < maxLength; col++)
            {
                values[row * maxLength + col] = MaskedScore;
            }
        }
        var full = g.FloatConstant(values, [maxLength, maxLength]);
        var ends = g.Op("Concat", [seq, seq], ElementType.Int64, [2], n => n.Int("axis", 0));
        return g.Op("Slice", [full, g.Int64s(0, 0), ends, g.Int64s(0, 1)], g.FloatType, [staticLength, staticLength]);
    }
}

using Distributed.Models.Autodiff;
using Distributed.Models.Graph;

namespace Distributed.Models.Gpt;

/// <summary>
/// The GPT, written once as ONNX ops on the autodiff tape: token embedding (plus learned position
/// embeddings, or rotary ones inside attention), pre-norm blocks of causal multi-head self-attention
/// and a feed-forward layer, a final norm and an output projection (tied to the token embedding, or
/// its own lm_head). The defaults are GPT-2; RMSNorm, SwiGLU, RoPE, no biases and an untied head make
/// LLaMA. B and T may be dynamic (-1): the inference graph accepts any batch and any prompt length up
/// to max_sequence_length.
/// </summary>
public static class GptModel
{
    /// <summary>Masked attention scores: large and negative, so softmax gives exactly 0 yet never NaN.</summary>
    private const double MaskedScore = -1e9;

    /// <summary>Logits [B, T, V] for token ids [B, T].</summary>
    public static Value Logits(OnnxGraph g, GptConfig config, Func<string, Value> p, Value ids, DropoutMasks dropout)
    {
        var m = new Modules(g, config, p, TensorNames.Of(config));
        var seq = g.DimOf(ids, 1);
        var x = g.Embedding(p(m.Names.TokenEmbedding), ids);                                 // (B, T, C)
        if (config.Position == PositionKind.Learned)
        {
            x = g.Add(x, g.FirstRows(p(m.Names.PositionEmbedding), seq, ids.Shape[1]));      // + (T, C)
        }
        x = dropout.Apply(g, x);
        var mask = CausalMask(g, config.MaxSequenceLength, seq, ids.Shape[1]);               // (T, T)
        (Value Cos, Value Sin)? rotary = config.Position == PositionKind.Rope ? RotaryTables(g, config, seq, ids.Shape[1]) : null;
        for (var layer = 0; layer < config.NumLayers; layer++)
        {
            var b = m.Names.Block(layer);
            x = g.Add(x, Attention(m, b, m.Norm(b.AttentionNorm, x), mask, rotary, dropout));
            x = g.Add(x, FeedForward(m, b, m.Norm(b.FeedForwardNorm, x), dropout));
        }
        x = m.Norm(m.Names.FinalNorm, x);
        return g.MatMul(x, g.Transpose(p(m.Names.OutputHead), 1, 0));                      // (B, T, V)
    }

    /// <summary>Mean cross-entropy of next-token prediction over every position of the batch.</summary>
    public static Value Loss(OnnxGraph g, GptConfig config, Value logits, Value targets)
    {
        var flatTargets = g.Op("Reshape", [targets, g.Int64s(-1)], ElementType.Int64, [targets.IsStatic ? targets.Count : -1]);
        return g.CrossEntropy(g.Reshape(logits, [-1, config.VocabSize]), flatTargets);
    }

    private static Value Attention(Modules m, BlockNames b, Value x, Value mask, (Value Cos, Value Sin)? rotary, DropoutMasks dropout)
    {
        var (g, c) = (m.G, m.Config);
        long heads = c.NumHeads, headSize = c.HeadSize;
        var (q, k, v) = (b.QueryKeyValue.Count == 1
            ? g.SplitLast(m.Linear(b.QueryKeyValue[0], x), 3)                                // (B, T, 3C) in three
            : b.QueryKeyValue.Select(name => m.Linear(name, x)).ToArray()) switch { var s => (s[0], s[1], s[2]) }; // (B, T, C) each
        // (B, T, C) -> (B, T, nh, hs), where queries and keys are normalised and rotated per head.
        Value PerHead(Value y, string norm)
        {
            y = g.Reshape(y, [0, 0, heads, headSize]);
            y = c.QkNorm ? g.RmsNorm(y, m.P(norm + ".weight")) : y;
            return rotary is { } r ? g.Rotary(y, r.Cos, r.Sin) : y;
        }
        // -> (B, nh, T, hs); k goes straight to (B, nh, hs, T) for q @ k^T.
        q = g.Transpose(PerHead(q, b.QueryNorm), 0, 2, 1, 3);
        k = g.Transpose(PerHead(k, b.KeyNorm), 0, 2, 3, 1);
        v = g.Transpose(g.Reshape(v, [0, 0, heads, headSize]), 0, 2, 1, 3);
        var scores = g.Add(g.MatMul(g.Scale(q, 1.0 / Math.Sqrt(headSize)), k), mask);       // (B, nh, T, T)
        var weights = dropout.Apply(g, g.Softmax(scores));
        var y = g.Transpose(g.MatMul(weights, v), 0, 2, 1, 3);                               // (B, T, nh, hs)
        y = g.Reshape(y, [0, 0, c.EmbeddingSize]);                                         // (B, T, C)
        return dropout.Apply(g, m.Linear(b.AttentionOutput, y));
    }

    private static Value FeedForward(Modules m, BlockNames b, Value x, DropoutMasks dropout)
    {
        var g = m.G;
        var hidden = b.Gate is { } gate
            ? g.Mul(g.Silu(m.Linear(gate, x)), m.Linear(b.Up, x))                            // (B, T, F), SwiGLU
            : g.Activate(m.Linear(b.Up, x), m.Config.Activation);                            // (B, T, F)
        return dropout.Apply(g, m.Linear(b.Down, hidden));
    }

    /// <summary>The graph, config and parameters a model is built from, with its two kinds of module.</summary>
    private sealed record Modules(OnnxGraph G, GptConfig Config, Func<string, Value> P, TensorNames Names)
    {
        /// <summary>x W (+ b), for W [in, out]; or x W^T (+ b) for W [out, in], as Llama stores it.</summary>
        public Value Linear(string module, Value x)
        {
            var w = P(module + ".weight");
            var y = G.MatMul(x, Names.WeightsOutByIn ? G.Transpose(w, 1, 0) : w);
            return Config.Bias ? G.Add(y, P(module + ".bias")) : y;
        }

        public Value Norm(string module, Value x) => Config.Norm == NormKind.RmsNorm
            ? G.RmsNorm(x, P(module + ".weight"))
            : G.LayerNorm(x, P(module + ".weight"), Config.Bias ? P(module + ".bias") : null);
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

    /// <summary>
    /// RoPE's cos and sin± (T, 1, hs) for <see cref="Ops.Rotary"/>: position t turns dimension pair i
    /// (i and i + hs/2) by t * theta^(-2i/hs), as Hugging Face Llama's rotary embedding; sliced to the sequence.
    /// </summary>
    private static (Value Cos, Value Sin) RotaryTables(OnnxGraph g, GptConfig c, Value seq, long staticLength)
    {
        int length = c.MaxSequenceLength, size = c.HeadSize, half = size / 2;
        var (cos, sin) = (new double[length * size], new double[length * size]);
        for (var t = 0; t < length; t++)
        {
            for (var i = 0; i < half; i++)
            {
                var angle = t * Math.Pow(c.RopeTheta, -2.0 * i / size);
                cos[t * size + i] = cos[t * size + half + i] = Math.Cos(angle);
                (sin[t * size + i], sin[t * size + half + i]) = (-Math.Sin(angle), Math.Sin(angle));
            }
        }
        Value Table(double[] values) => g.FirstRows(g.FloatConstant(values, [length, 1, size]), seq, staticLength);
        return (Table(cos), Table(sin));
    }
}

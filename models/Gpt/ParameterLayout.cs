
namespace Distributed.Models.Gpt;

/// <summary>How a parameter tensor starts out (GPT-2's scheme).</summary>
public enum Init { Normal, ResidualProjection, Zeros, Ones }

/// <summary>Which part of the model a parameter tensor belongs to (for <see cref="ParameterCount"/>).</summary>
public enum ParameterPart { TokenEmbedding, PositionEmbedding, Attention, FeedForward, Norm, OutputHead }

/// <summary>One named parameter tensor: where it sits in the flat buffer and how it is treated.</summary>
public sealed record ParameterView(string Name, int[] Shape, long Offset, Init Init, ParameterPart Part)
{
    public long Length => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>AdamW decays matrices (embeddings and weights), never biases or norm gains.</summary>
    public bool Decays => Shape.Length >= 2;

    /// <summary>A bias (of a linear layer or a LayerNorm) rather than a weight or a gain.</summary>
    public bool IsBias => Name.EndsWith(".bias", StringComparison.Ordinal);

    public long[] LongShape => Shape.Select(d => (long)d).ToArray();
}

/// <summary>
/// The GPT's parameter table: every tensor, its shape and its offset in one flat buffer, under the
/// Hugging Face names and weight layout of its family (<see cref="TensorNames"/>), so the safetensors
/// file reads like GPT-2's or LLaMA's. Gradients and optimizer moments mirror the same layout.
/// </summary>
public sealed class ParameterLayout
{
    private readonly Dictionary<string, ParameterView> _byName;

    public ParameterLayout(GptConfig config)
    {
        if (config.VocabSize <= 0)
        {
            throw new ArgumentException("The parameter layout needs a resolved vocab_size (from the tokenizer).", nameof(config));
        }
        int v = config.VocabSize, t = config.MaxSequenceLength, c = config.EmbeddingSize, f = config.FeedForwardWidth;
        var names = TensorNames.Of(config);
        var specs = new List<(string, int[], Init, ParameterPart)>();
        void Linear(string module, int inputs, int outputs, ParameterPart part, Init init)
        {
            specs.Add((module + ".weight", names.WeightsOutByIn ? [outputs, inputs] : [inputs, outputs], init, part));
            if (config.Bias)
            {
                specs.Add((module + ".bias", [outputs], Init.Zeros, part));
            }
        }
        void Norm(string module, int size, bool withBias)
        {
            specs.Add((module + ".weight", [size], Init.Ones, ParameterPart.Norm));
            if (withBias)
            {
                specs.Add((module + ".bias", [size], Init.Zeros, ParameterPart.Norm));
            }
        }
        var normBias = config.Norm == NormKind.LayerNorm && config.Bias;   // RMSNorm has a gain only

        // wte [V, C], wpe [T, C]; per block: norm [C], W_QKV [C, 3C] (or W_Q, W_K, W_V [C, C] each),
        // q/k norms [hs], W_O [C, C], norm [C], W_gate [C, F], W_up [C, F], W_down [F, C], each linear
        // weight [in, out] or [out, in] as the family stores it, with a bias [out]; final norm [C]; lm_head [V, C].

        specs.Add((names.TokenEmbedding, [v, c], Init.Normal, ParameterPart.TokenEmbedding)); // also the output head when tied
        if (config.Position == PositionKind.Learned)
        {
            specs.Add((names.PositionEmbedding, [t, c], Init.Normal, ParameterPart.PositionEmbedding));
        }
        for (var i = 0; i < config.NumLayers; i++)
        {
            var b = names.Block(i);
            Norm(b.AttentionNorm, c, normBias);
            foreach (var module in b.QueryKeyValue)
            {
                Linear(module, c, 3 * c / b.QueryKeyValue.Count, ParameterPart.Attention, Init.Normal); // W_Q | W_K | W_V, fused or apart
            }
            if (config.QkNorm)
            {
                Norm(b.QueryNorm, config.HeadSize, withBias: false);   // RMSNorm gains over a head's hs dimensions
                Norm(b.KeyNorm, config.HeadSize, withBias: false);
            }
            Linear(b.AttentionOutput, c, c, ParameterPart.Attention, Init.ResidualProjection); // W_O
            Norm(b.FeedForwardNorm, c, normBias);
            if (b.Gate is { } gate)
            {
                Linear(gate, c, f, ParameterPart.FeedForward, Init.Normal);
            }
            Linear(b.Up, c, f, ParameterPart.FeedForward, Init.Normal);
            Linear(b.Down, f, c, ParameterPart.FeedForward, Init.ResidualProjection);
        }
        Norm(names.FinalNorm, c, normBias);
        if (!config.TieEmbeddings)
        {
            specs.Add((names.OutputHead, [v, c], Init.Normal, ParameterPart.OutputHead));
        }

        var views = new List<ParameterView>();
        long offset = 0;
        foreach (var (name, shape, init, part) in specs)
        {
            var view = new ParameterView(name, shape, offset, init, part);
            views.Add(view);
            offset += view.Length;
        }
        Views = views;
        TotalLength = offset;
        _byName = views.ToDictionary(p => p.Name);
    }

    public IReadOnlyList<ParameterView> Views { get; }

    public long TotalLength { get; }

    public ParameterView this[string name] => _byName.TryGetValue(name, out var view)
        ? view
        : throw new KeyNotFoundException($"No parameter named '{name}'.");
}

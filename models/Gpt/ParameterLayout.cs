
namespace Distributed.Models.Gpt;

/// <summary>How a parameter tensor starts out (GPT-2's scheme).</summary>
public enum Init { Normal, ResidualProjection, Zeros, Ones }

/// <summary>One named parameter tensor: where it sits in the flat buffer and how it is treated.</summary>
public sealed record ParameterView(string Name, int[] Shape, long Offset, Init Init)
{
    public long Length => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>AdamW decays matrices (embeddings and weights), never biases or LayerNorm gains.</summary>
    public bool Decays => Shape.Length >= 2;

    public long[] LongShape => Shape.Select(d => (long)d).ToArray();
}

/// <summary>
/// The GPT's parameter table: every tensor, its shape and its offset in one flat buffer, in GPT-2's
/// (Hugging Face) names and [in, out] weight layout so the safetensors file reads like GPT-2's.
/// Gradients and optimizer moments mirror the same layout.
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
        int v = config.VocabSize, t = config.MaxSequenceLength, c = config.EmbeddingSize, f = config.FeedForwardSize;
        var specs = new List<(string, int[], Init)>
        {
            ("wte.weight", [v, c], Init.Normal),            // token embedding, also the output projection (tied)
            ("wpe.weight", [t, c], Init.Normal),            // learned position embedding
        };
        for (var i = 0; i < config.NumLayers; i++)
        {
            var h = $"h.{i}.";
            specs.AddRange(
            [
                (h + "ln_1.weight", [c], Init.Ones),
                (h + "ln_1.bias", [c], Init.Zeros),
                (h + "attn.c_attn.weight", [c, 3 * c], Init.Normal),   // W_Q | W_K | W_V
                (h + "attn.c_attn.bias", [3 * c], Init.Zeros),
                (h + "attn.c_proj.weight", [c, c], Init.ResidualProjection), // W_O
                (h + "attn.c_proj.bias", [c], Init.Zeros),
                (h + "ln_2.weight", [c], Init.Ones),
                (h + "ln_2.bias", [c], Init.Zeros),
                (h + "mlp.c_fc.weight", [c, f], Init.Normal),
                (h + "mlp.c_fc.bias", [f], Init.Zeros),
                (h + "mlp.c_proj.weight", [f, c], Init.ResidualProjection),
                (h + "mlp.c_proj.bias", [c], Init.Zeros),
            ]);
        }
        specs.Add(("ln_f.weight", [c], Init.Ones));
        specs.Add(("ln_f.bias", [c], Init.Zeros));

        var views = new List<ParameterView>();
        long offset = 0;
        foreach (var (name, shape, init) in specs)
        {
            var view = new ParameterView(name, shape, offset, init);
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

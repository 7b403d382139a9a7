using Distributed.Models.Gpt;
using Microsoft.ML.OnnxRuntime;

namespace Distributed.Models.Runtime;

/// <summary>
/// Autoregressive sampling from the exported inference model (model.onnx): feed the last
/// max_sequence_length tokens, take the last position's logits, apply temperature and top-k, draw
/// (or, at temperature 0, take the most likely token).
/// </summary>
public sealed class TextGenerator(byte[] inferenceModel, int maxSequenceLength, int threads = 0) : IDisposable
{
    private readonly InferenceSession _session = SessionFactory.Create(inferenceModel, threads);

    /// <summary>Appends <paramref name="count"/> sampled tokens to <paramref name="prompt"/>, reporting each as it comes.</summary>
    public List<int> Generate(IReadOnlyList<int> prompt, int count, double temperature, int topK, Rng rng, Action<int>? onToken = null)
    {
        if (prompt.Count == 0)
        {
            throw new ArgumentException("The prompt must contain at least one token.", nameof(prompt));
        }
        if (!(temperature >= 0) || double.IsInfinity(temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must be 0 (greedy) or a finite positive number.");
        }
        var tokens = prompt.ToList();
        using var runOptions = new RunOptions();
        for (var n = 0; n < count; n++)
        {
            var context = tokens.Skip(Math.Max(0, tokens.Count - maxSequenceLength)).Select(t => (long)t).ToArray();
            using var input = OrtValue.CreateTensorValueFromMemory(context, [1, context.Length]);
            using var outputs = _session.Run(runOptions, [TrainingGraph.Ids], [input], _session.OutputNames);
            var logits = outputs[0].GetTensorDataAsSpan<float>();
            var vocab = logits.Length / context.Length;
            var next = Sample(logits[^vocab..], temperature, topK, rng);
            tokens.Add(next);
            onToken?.Invoke(next);
        }
        return tokens;
    }

    /// <summary>
    /// Draws from softmax(logits / temperature) restricted to the top-k logits (k &lt;= 0: all); temperature 0
    /// is the limit of that, greedy decoding: the most likely token (the first of equals), drawing nothing.
    /// </summary>
    public static int Sample(ReadOnlySpan<float> logits, double temperature, int topK, Rng rng)
    {
        if (temperature == 0)
        {
            var best = 0;
            for (var i = 1; i < logits.Length; i++)
            {
                if (logits[i] > logits[best])
                {
                    best = i;
                }
            }
            return best;
        }
        var order = Enumerable.Range(0, logits.Length).ToArray();
        var values = logits.ToArray();
        Array.Sort(values.Select(v => -v).ToArray(), order);
        var keep = topK > 0 ? Math.Min(topK, order.Length) : order.Length;
        var max = values[order[0]];
        var weights = new double[keep];
        for (var i = 0; i < keep; i++)
        {
            weights[i] = Math.Exp((values[order[i]] - max) / temperature);
        }
        var draw = rng.NextDouble() * weights.Sum();
        for (var i = 0; i < keep; i++)
        {
            draw -= weights[i];
            if (draw <= 0)
            {
                return order[i];
            }
        }
        return order[keep - 1];
    }

    public void Dispose() => _session.Dispose();
}

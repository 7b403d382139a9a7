using Distributed.Models.Config;
using Distributed.Models.Gpt;
using Distributed.Models.Graph;
using Distributed.Models;
using Distributed.Tests.Autodiff;

namespace Distributed.Tests.Gpt;

/// <summary>The whole GPT's training graph, in float64, against central finite differences of its loss.</summary>
public class GptGradientTests
{
    private static readonly GptConfig Small = new()
    {
        NumLayers = 2, NumHeads = 2, EmbeddingSize = 8, MaxSequenceLength = 5, VocabSize = 7, Dropout = 0,
    };

    [Theory]
    [InlineData(Activation.Gelu, 0.0)]
    [InlineData(Activation.Relu, 0.0)]
    [InlineData(Activation.Tanh, 0.0)]
    [InlineData(Activation.Gelu, 0.3)]   // masks are inputs, so dropout is differentiable too
    public void Every_parameter_gradient_matches_finite_differences(Activation activation, double dropout) =>
        AssertGradientsMatchFiniteDifferences(Small with { Activation = activation, Dropout = dropout });

    [Theory]
    [InlineData("norm=rmsnorm", "mlp=swiglu", "position=rope", "bias=false", "tie_embeddings=false")]                 // LLaMA
    [InlineData("norm=rmsnorm", "mlp=swiglu", "position=rope", "bias=false", "tie_embeddings=false", "qk_norm=true", "dropout=0.3")]
    [InlineData("mlp=swiglu", "feed_forward_size=12")]                                       // Llama names with biases, learned positions
    [InlineData("position=rope", "activation=relu2", "qk_norm=true", "bias=false", "tie_embeddings=false", "rope_theta=100")] // modded-nanogpt-like
    [InlineData("bias=false")]                                                              // LayerNorm without bias
    public void Every_parameter_gradient_matches_finite_differences_in_other_architectures(params string[] overrides) =>
        AssertGradientsMatchFiniteDifferences(ConfigLoader.Load(Small with { FeedForwardSize = 16 }, null, overrides));

    private static void AssertGradientsMatchFiniteDifferences(GptConfig config)
    {
        var dropout = config.Dropout;
        const int batch = 2;
        var graph = GptGraphs.Training(config, batch, ElementType.Double);
        var layout = new ParameterLayout(config);
        var rng = new Rng(11);
        var feed = new Dictionary<string, (Array, long[])>();
        foreach (var view in layout.Views)
        {
            // Larger than GPT-2's 0.02 so every path carries a gradient well above rounding noise.
            feed[view.Name] = (Enumerable.Range(0, (int)view.Length).Select(_ => rng.NextGaussian() * 0.4).ToArray(), view.LongShape);
        }
        var tokens = Enumerable.Range(0, batch * (config.MaxSequenceLength + 1)).Select(_ => (long)rng.NextInt(config.VocabSize)).ToArray();
        feed[TrainingGraph.Ids] = (tokens[..(batch * config.MaxSequenceLength)], [batch, config.MaxSequenceLength]);
        feed[TrainingGraph.Targets] = (tokens[batch..], [batch, config.MaxSequenceLength]);
        foreach (var mask in graph.DropoutMasks)
        {
            var values = new float[mask.Count];
            DropoutMasks.Draw(values, dropout, rng);
            feed[mask.Name] = (values.Select(v => (double)v).ToArray(), mask.Shape);
        }
        Assert.Equal(dropout > 0 ? 1 + 3 * config.NumLayers : 0, graph.DropoutMasks.Count);

        using var runner = new GraphRunner(graph.Model);
        var outputs = runner.Run(feed, [TrainingGraph.Loss, .. layout.Views.Select(v => TrainingGraph.GradientOf(v.Name))]);
        Assert.InRange(outputs[TrainingGraph.Loss][0], 0.5, 10);

        const double step = 1e-5;
        foreach (var view in layout.Views)
        {
            // Directional derivative along a random direction in this tensor: grad . d vs (L(p+hd) - L(p-hd)) / 2h.
            var parameters = (double[])feed[view.Name].Item1;
            var direction = GradientCheck.Random(parameters.Length, view.Name.Length * 31 + 5);
            var analytic = outputs[TrainingGraph.GradientOf(view.Name)].Zip(direction, (a, d) => a * d).Sum();
            var original = (double[])parameters.Clone();
            for (var i = 0; i < parameters.Length; i++) { parameters[i] = original[i] + step * direction[i]; }
            var plus = runner.Run(feed, [TrainingGraph.Loss])[TrainingGraph.Loss][0];
            for (var i = 0; i < parameters.Length; i++) { parameters[i] = original[i] - step * direction[i]; }
            var minus = runner.Run(feed, [TrainingGraph.Loss])[TrainingGraph.Loss][0];
            original.CopyTo(parameters, 0);
            var numeric = (plus - minus) / (2 * step);
            Assert.True(Math.Abs(numeric - analytic) <= 1e-6 + 1e-5 * Math.Abs(numeric),
                $"{view.Name}: analytic {analytic:E6} vs numeric {numeric:E6}");
        }
    }
}

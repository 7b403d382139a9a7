using Distributed.Models.Graph;
using Distributed.Onnx;
using Google.Protobuf;

namespace Distributed.Models.Gpt;

/// <summary>A training graph's interface: what to bind and where each gradient comes out.</summary>
public sealed record TrainingGraph(byte[] Model, IReadOnlyList<Value> DropoutMasks)
{
    public const string Ids = "input_ids";
    public const string Targets = "targets";
    public const string Loss = "loss";

    public static string GradientOf(string parameter) => "grad." + parameter;
}

/// <summary>
/// The three graphs made from the one <see cref="GptModel"/> definition: training (loss and every
/// parameter's gradient), evaluation (loss, no dropout) and inference (logits, weights inside).
/// </summary>
public static class GptGraphs
{
    /// <summary>Loss and gradients for a batch [batch, T]; parameters and dropout masks are inputs.</summary>
    public static TrainingGraph Training(GptConfig config, int batch, ElementType floatType = ElementType.Float)
    {
        var g = new OnnxGraph(floatType, "gpt_training");
        var layout = new ParameterLayout(config);
        var parameters = ParameterInputs(g, layout, requiresGrad: true);
        var (ids, targets) = BatchInputs(g, batch, config.MaxSequenceLength);
        var dropout = new DropoutMasks(config.Dropout);
        var loss = GptModel.Loss(g, config, GptModel.Logits(g, config, n => parameters[n], ids, dropout), targets);
        g.Output(loss, TrainingGraph.Loss);
        var grads = g.Tape.Backward(loss, layout.Views.Select(v => parameters[v.Name]).ToList());
        for (var i = 0; i < layout.Views.Count; i++)
        {
            g.Output(grads[i], TrainingGraph.GradientOf(layout.Views[i].Name));
        }
        return new TrainingGraph(g.ToBytes("GPT training graph: loss and gradients"), dropout.Inputs);
    }

    /// <summary>Mean loss of a batch [batch, T] with dropout off (batch -1: any size); parameters are inputs.</summary>
    public static byte[] Evaluation(GptConfig config, int batch, ElementType floatType = ElementType.Float)
    {
        var g = new OnnxGraph(floatType, "gpt_evaluation");
        var parameters = ParameterInputs(g, new ParameterLayout(config), requiresGrad: false);
        var (ids, targets) = BatchInputs(g, batch, config.MaxSequenceLength);
        var logits = GptModel.Logits(g, config, n => parameters[n], ids, DropoutMasks.None);
        g.Output(GptModel.Loss(g, config, logits, targets), TrainingGraph.Loss);
        return g.ToBytes("GPT evaluation graph: mean loss");
    }

    /// <summary>
    /// A standalone model: input_ids [batch, sequence] (int64, sequence up to max_sequence_length)
    /// to logits [batch, sequence, vocab], with the weights stored as initializers.
    /// </summary>
    public static byte[] Inference(GptConfig config, FlatBuffer weights) => InferenceModel(config, weights).ToByteArray();

    /// <summary>
    /// The model of <see cref="Inference"/> before serialization. Its initializers view
    /// <paramref name="weights"/> in place (85M parameters are 340 MB): serialize it before they change.
    /// </summary>
    public static ModelProto InferenceModel(GptConfig config, FlatBuffer weights)
    {
        var g = new OnnxGraph(ElementType.Float, "gpt");
        var parameters = weights.Layout.Views.ToDictionary(v => v.Name, v => g.Weight(v.Name, weights.BytesOf(v), v.LongShape));
        var ids = g.Input(TrainingGraph.Ids, ElementType.Int64, [-1, -1], dimNames: ["batch", "sequence"]);
        var logits = GptModel.Logits(g, config, n => parameters[n], ids, DropoutMasks.None);
        g.Output(logits, "logits", ["batch", "sequence", "vocab"]);
        return g.ToModel($"GPT: {config.NumLayers} layers, {config.NumHeads} heads, embedding {config.EmbeddingSize}, context {config.MaxSequenceLength}, vocab {config.VocabSize}");
    }

    private static Dictionary<string, Value> ParameterInputs(OnnxGraph g, ParameterLayout layout, bool requiresGrad)
        => layout.Views.ToDictionary(v => v.Name, v => g.Input(v.Name, g.FloatType, v.LongShape, requiresGrad));

    private static (Value Ids, Value Targets) BatchInputs(OnnxGraph g, int batch, int length)
        => (g.Input(TrainingGraph.Ids, ElementType.Int64, [batch, length], dimNames: ["batch", "sequence"]),
            g.Input(TrainingGraph.Targets, ElementType.Int64, [batch, length], dimNames: ["batch", "sequence"]));
}

using Distributed.Models.Gpt;
using Distributed.Onnx;
using Distributed.Models.Runtime;
using Distributed.Models;
using Microsoft.ML.OnnxRuntime;

namespace Distributed.Tests.Gpt;

/// <summary>The exported model.onnx is a standalone model whose logits agree with the training graph.</summary>
public class OnnxExportTests
{
    private static readonly GptConfig Config = new()
    {
        NumLayers = 2, NumHeads = 2, EmbeddingSize = 16, MaxSequenceLength = 8, VocabSize = 11, BatchSize = 3,
    };

    [Fact]
    public void Exported_logits_give_the_training_graphs_loss_and_respect_causality() => AssertExportMatchesTraining(Config);

    [Fact]
    public void A_llama_style_export_matches_training_and_names_its_weights_as_hugging_face_llama()
    {
        var llama = Config with
        {
            Norm = NormKind.RmsNorm, Mlp = MlpKind.SwiGlu, Position = PositionKind.Rope, Bias = false, TieEmbeddings = false, QkNorm = true,
        };
        var model = AssertExportMatchesTraining(llama);

        var weights = ModelProto.Parser.ParseFrom(model).Graph.Initializer.Select(t => t.Name).ToHashSet();
        Assert.Superset(new ParameterLayout(llama).Views.Select(v => v.Name).ToHashSet(), weights);
        Assert.Contains("model.layers.1.self_attn.q_proj.weight", weights);
        Assert.Contains("lm_head.weight", weights);
        Assert.DoesNotContain(weights, n => n.EndsWith(".bias"));
    }

    /// <summary>Returns the exported model's bytes.</summary>
    private static byte[] AssertExportMatchesTraining(GptConfig config)
    {
        var layout = new ParameterLayout(config);
        var parameters = new FlatBuffer(layout);
        var gradients = new FlatBuffer(layout);
        var rng = new Rng(5);
        parameters.InitializeGpt2(config.NumLayers, rng);
        for (var i = 0; i < parameters.Data.Length; i++)
        {
            parameters.Data[i] += (float)(0.1 * rng.NextGaussian());   // away from init, so every weight matters
        }
        using var training = new GptTrainingSession(config, parameters, gradients, threads: 1);
        var tokens = Enumerable.Range(0, config.BatchSize * (config.MaxSequenceLength + 1)).Select(_ => (long)rng.NextInt(config.VocabSize)).ToArray();
        tokens.AsSpan(0, training.Inputs.Length).CopyTo(training.Inputs);
        tokens.AsSpan(config.BatchSize, training.Targets.Length).CopyTo(training.Targets);
        var trainingLoss = training.ComputeGradients(rng);

        // A fresh session on the exported bytes: nothing shared with the training graph.
        var model = GptGraphs.Inference(config, parameters);
        using var session = new InferenceSession(model);
        var logits = Logits(session, training.Inputs, config.BatchSize, config.MaxSequenceLength);

        var exportedLoss = MeanCrossEntropy(logits, training.Targets, config.VocabSize);
        Assert.Equal(trainingLoss, exportedLoss, 1e-5);

        // Any batch and any shorter sequence: the logits of a prefix equal those of the full sequence.
        var prefix = training.Inputs.AsSpan(0, 5).ToArray();
        var prefixLogits = Logits(session, prefix, 1, 5);
        for (var i = 0; i < prefixLogits.Length; i++)
        {
            Assert.Equal(logits[i], prefixLogits[i], 1e-5);
        }
        return model;
    }

    private static float[] Logits(InferenceSession session, long[] ids, int batch, int length)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(ids, [batch, length]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [TrainingGraph.Ids], [input], ["logits"]);
        Assert.Equal([batch, length, Config.VocabSize], outputs[0].GetTensorTypeAndShape().Shape);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static double MeanCrossEntropy(float[] logits, long[] targets, int vocab)
    {
        double total = 0;
        for (var row = 0; row < targets.Length; row++)
        {
            var span = logits.AsSpan(row * vocab, vocab);
            var max = double.NegativeInfinity;
            foreach (var v in span) { max = Math.Max(max, v); }
            double sum = 0;
            foreach (var v in span) { sum += Math.Exp(v - max); }
            total += Math.Log(sum) + max - span[(int)targets[row]];
        }
        return total / targets.Length;
    }
}

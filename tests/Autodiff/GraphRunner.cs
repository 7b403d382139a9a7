using Distributed.Models.Runtime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace Distributed.Tests.Autodiff;

/// <summary>Runs a float64 (or float32) test graph on named inputs and returns named outputs as doubles.</summary>
internal sealed class GraphRunner : IDisposable
{
    private readonly InferenceSession _session;

    public GraphRunner(byte[] model) => _session = SessionFactory.Create(model, threads: 1);

    public Dictionary<string, double[]> Run(IReadOnlyDictionary<string, (Array Data, long[] Shape)> inputs, IReadOnlyList<string> outputs)
    {
        var values = new List<OrtValue>();
        try
        {
            foreach (var (_, (data, shape)) in inputs)
            {
                values.Add(data switch
                {
                    double[] d => OrtValue.CreateTensorValueFromMemory(d, shape),
                    float[] f => OrtValue.CreateTensorValueFromMemory(f, shape),
                    long[] l => OrtValue.CreateTensorValueFromMemory(l, shape),
                    _ => throw new ArgumentException($"Unsupported input array {data.GetType()}"),
                });
            }
            using var runOptions = new RunOptions();
            using var results = _session.Run(runOptions, inputs.Keys.ToArray(), values, outputs.ToArray());
            return outputs.Zip(results).ToDictionary(p => p.First, p => p.Second.GetTensorTypeAndShape().ElementDataType switch
            {
                TensorElementType.Double => p.Second.GetTensorDataAsSpan<double>().ToArray(),
                _ => p.Second.GetTensorDataAsSpan<float>().ToArray().Select(v => (double)v).ToArray(),
            });
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    public void Dispose() => _session.Dispose();
}

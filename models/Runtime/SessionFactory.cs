using Microsoft.ML.OnnxRuntime;

namespace Distributed.Models.Runtime;

/// <summary>Creates ONNX Runtime sessions on the CPU execution provider with this project's settings.</summary>
public static class SessionFactory
{
    /// <summary>
    /// The CUDA device sessions run on (null: the CPU execution provider). Set once at start-up by a
    /// worker given --device cuda:K; only a build with -p:OnnxRuntimeGpu=true can use it.
    /// </summary>
    public static int? CudaDevice { get; set; }

    /// <param name="model">Serialized ONNX model.</param>
    /// <param name="threads">Intra-op threads; 0 lets ONNX Runtime use every core.</param>
    public static InferenceSession Create(byte[] model, int threads = 0)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = threads,
            // Measured: running independent branches in parallel (ORT_PARALLEL) was 35% slower here.
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        // Between runs the trainer's own work (optimizer, batches) and other processes on the machine
        // need the cores; ORT's pool threads would otherwise spin-wait on them. Measured cost on one
        // process: none (13.1k vs 12.9k tokens/s, within noise).
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        if (CudaDevice is { } device)
        {
#if ONNXRUNTIME_GPU
            options.AppendExecutionProvider_CUDA(device);
#else
            throw new InvalidOperationException($"cuda:{device} needs a GPU build: dotnet build -c Release -p:OnnxRuntimeGpu=true.");
#endif
        }
        return new InferenceSession(model, options);
    }
}

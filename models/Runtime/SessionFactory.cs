using Microsoft.ML.OnnxRuntime;

namespace Distributed.Models.Runtime;

/// <summary>Creates ONNX Runtime sessions with this project's settings: on the CPU execution provider, or on CUDA in a GPU build.</summary>
public static class SessionFactory
{
    /// <summary>
    /// The CUDA device sessions run on (null: the CPU execution provider). Set once at start-up by a
    /// worker given --device cuda:K; only a build with -p:OnnxRuntimeGpu=true can use it.
    /// </summary>
    public static int? CudaDevice { get; set; }

    /// <param name="model">Serialized ONNX model.</param>
    /// <param name="threads">Intra-op threads; 0 lets ONNX Runtime use every core.</param>
    /// <param name="spinWait">
    /// Let ORT's pool threads spin between the graph's parallel sections instead of sleeping. Only for a
    /// process that has its cores to itself (the single-process trainer): measured there, 13.6k vs 11.8k
    /// tokens/s on shakespeare-char (six interleaved pairs of 500-step runs), because a training step runs
    /// hundreds of small parallel ops and waking a sleeping thread for each costs more than the op.
    /// Off elsewhere: a worker shares the cores with the coordinator and other workers, and threads
    /// spinning there would take the CPU the others need.
    /// </param>
    public static InferenceSession Create(byte[] model, int threads = 0, bool spinWait = false)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = threads,
            // A GPT step is one long chain of ops: running independent branches in parallel (ORT_PARALLEL)
            // has little to overlap and was slower when tried (that figure was not kept).
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", spinWait ? "1" : "0");
        if (CudaDevice is { } device)
        {
#if ONNXRUNTIME_GPU
            options.AppendExecutionProvider_CUDA(device);
#else
            throw new InvalidOperationException(DeviceCheck.NotGpuBuild($"cuda:{device}"));
#endif
        }
        return new InferenceSession(model, options);
    }
}

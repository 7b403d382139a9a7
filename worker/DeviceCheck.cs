namespace Distributed.Worker;

/// <summary>Which --device values this build can run.</summary>
public static class DeviceCheck
{
    public static string? Problem(string device)
    {
        if (device == "cpu")
        {
            return null;
        }
        if (!device.StartsWith("cuda:", StringComparison.Ordinal) || !int.TryParse(device["cuda:".Length..], out var index) || index < 0)
        {
            return $"--device '{device}' is not 'cpu' or 'cuda:K' (K a GPU index).";
        }
#if ONNXRUNTIME_GPU
        return null;
#else
        return $"--device {device}: this build has only ONNX Runtime's CPU execution provider. Build for GPU with " +
               "`dotnet build -c Release -p:OnnxRuntimeGpu=true` (uses the Microsoft.ML.OnnxRuntime.Gpu package and CUDA; untested by this project), or use --device cpu.";
#endif
    }
}

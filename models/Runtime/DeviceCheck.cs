namespace Distributed.Models.Runtime;

/// <summary>
/// Which devices this build can run: "cpu" always; "cuda:K" (K a GPU index) only in a GPU build
/// (`-p:OnnxRuntimeGpu=true`, the Microsoft.ML.OnnxRuntime.Gpu package). Shared by the worker's --device and
/// the launcher's --devices, so both refuse a CUDA device on a CPU build with the same message.
/// </summary>
public static class DeviceCheck
{
    public const string GpuBuild = "dotnet build -c Release -p:OnnxRuntimeGpu=true";

    /// <summary>True in a build against the CUDA package.</summary>
    public static bool IsGpuBuild =>
#if ONNXRUNTIME_GPU
        true;
#else
        false;
#endif

    /// <summary>The GPU index of "cuda:K", or null when <paramref name="device"/> is not of that form.</summary>
    public static int? CudaIndex(string device)
        => device.StartsWith("cuda:", StringComparison.Ordinal)
           && device.Length > "cuda:".Length && device["cuda:".Length..].All(char.IsAsciiDigit)
           && int.TryParse(device["cuda:".Length..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
            ? index
            : null;

    /// <summary>Why <paramref name="device"/> (as given to <paramref name="option"/>) cannot run here, in one line; null if it can.</summary>
    public static string? Problem(string device, string option = "--device")
    {
        if (device == "cpu")
        {
            return null;
        }
        if (CudaIndex(device) is null)
        {
            return $"{option} '{device}' is not 'cpu' or 'cuda:K' (K a GPU index).";
        }
        return IsGpuBuild ? null : NotGpuBuild($"{option} {device}");
    }

    /// <summary>The refusal of a CUDA device by a CPU build, saying how to build for GPU (or, <paramref name="instead"/>, what else to do).</summary>
    public static string NotGpuBuild(string what, string instead = "use --device cpu")
        => $"{what}: this build has only ONNX Runtime's CPU execution provider. Build for GPU with `{GpuBuild}` " +
           $"(the Microsoft.ML.OnnxRuntime.Gpu package; running it needs an NVIDIA GPU and CUDA 13), or {instead}.";
}

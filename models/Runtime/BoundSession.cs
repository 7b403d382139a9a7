using Microsoft.ML.OnnxRuntime;

namespace Distributed.Models.Runtime;

/// <summary>
/// An ONNX Runtime session whose every input and output is bound once, up front, to OrtValues over
/// caller-owned pinned memory. Each <see cref="Run"/> reads inputs and writes outputs in place:
/// no copies, no allocations. Owns the session, the binding and the OrtValues (not the memory).
/// </summary>
public sealed class BoundSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly List<OrtValue> _values = [];

    /// <param name="spinWait">See <see cref="SessionFactory.Create"/>.</param>
    public BoundSession(byte[] model, int threads, bool spinWait = false)
    {
        _session = SessionFactory.Create(model, threads, spinWait);
        try
        {
            _binding = _session.CreateIoBinding();
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    public void BindInput<T>(string name, Memory<T> memory, long[] shape) where T : unmanaged
        => _binding.BindInput(name, Track(OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, memory, shape)));

    public void BindOutput<T>(string name, Memory<T> memory, long[] shape) where T : unmanaged
        => _binding.BindOutput(name, Track(OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, memory, shape)));

    public void Run() => _session.RunWithBinding(_runOptions, _binding);

    public void Dispose()
    {
        _binding.Dispose();
        for (var i = _values.Count - 1; i >= 0; i--)
        {
            _values[i].Dispose();
        }
        _runOptions.Dispose();
        _session.Dispose();
    }

    private OrtValue Track(OrtValue value)
    {
        _values.Add(value);
        return value;
    }
}


namespace Distributed.Models.Gpt;

/// <summary>
/// One pinned float32 array holding every tensor of a <see cref="ParameterLayout"/> (parameters,
/// gradients or optimizer moments). Pinned so ONNX Runtime can read and write it in place.
/// </summary>
public sealed class FlatBuffer
{
    public FlatBuffer(ParameterLayout layout)
    {
        if (layout.TotalLength > Array.MaxLength)
        {
            throw new ArgumentException($"{layout.TotalLength:N0} parameters do not fit one .NET array (max {Array.MaxLength:N0}).");
        }
        Layout = layout;
        Data = GC.AllocateArray<float>((int)layout.TotalLength, pinned: true);
    }

    public ParameterLayout Layout { get; }

    public float[] Data { get; }

    public Span<float> this[ParameterView view] => Data.AsSpan((int)view.Offset, (int)view.Length);

    public Span<float> this[string name] => this[Layout[name]];

    public Memory<float> MemoryOf(ParameterView view) => Data.AsMemory((int)view.Offset, (int)view.Length);

    /// <summary>The raw little-endian bytes of one tensor, in place (valid as long as this buffer).</summary>
    public ReadOnlyMemory<byte> BytesOf(ParameterView view) => new FloatBytes(Data, (int)view.Offset, (int)view.Length).Memory;

    /// <summary>GPT-2 initialisation: N(0, 0.02); residual projections N(0, 0.02/sqrt(2L)); zero biases; unit gains.</summary>
    public void InitializeGpt2(int numLayers, Rng rng)
    {
        const double std = 0.02;
        var residualStd = std / Math.Sqrt(2.0 * numLayers);
        foreach (var view in Layout.Views)
        {
            var span = this[view];
            switch (view.Init)
            {
                case Init.Zeros: span.Clear(); break;
                case Init.Ones: span.Fill(1f); break;
                case Init.Normal: FillNormal(span, std, rng); break;
                case Init.ResidualProjection: FillNormal(span, residualStd, rng); break;
            }
        }
    }

    private static void FillNormal(Span<float> span, double std, Rng rng)
    {
        for (var i = 0; i < span.Length; i++)
        {
            span[i] = (float)(rng.NextGaussian() * std);
        }
    }
}

namespace Distributed.Models.DataParallel;

/// <summary>Some windows of a source, renumbered 0..Count-1 (e.g. a rank's share of the validation split).</summary>
public sealed class WindowSubset(IWindowSource source, int[] windows) : IWindowSource
{
    public int Count => windows.Length;

    public ReadOnlySpan<int> Window(int index) => source.Window(windows[index]);

    public void Fill(ReadOnlySpan<int> indices, Span<long> inputs, Span<long> targets)
    {
        var mapped = indices.Length <= 256 ? stackalloc int[indices.Length] : new int[indices.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            mapped[i] = windows[indices[i]];
        }
        source.Fill(mapped, inputs, targets);
    }
}

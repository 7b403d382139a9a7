namespace Distributed.Models.Data;

/// <summary>One training example: a window of T + 1 tokens gives T inputs and, shifted by one, T targets.</summary>
public static class TokenWindow
{
    public static void Copy(ReadOnlySpan<int> window, Span<long> inputs, Span<long> targets)
    {
        for (var t = 0; t < inputs.Length; t++)
        {
            inputs[t] = window[t];
            targets[t] = window[t + 1];
        }
    }
}

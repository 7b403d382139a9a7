using Distributed.Models.Graph;

namespace Distributed.Models.Autodiff;

public static partial class Ops
{
    // ---- Rotary position embedding (RoPE) in Hugging Face Llama's rotate-half layout: each pair
    //   (x_i, x_{i+d/2}) of the last axis (d wide) turns by an angle set by its position and i.
    //   y = x * cos + swap(x) * sin±,  swap(x) = [x_2, x_1] (the halves exchanged), sin± = [-sin, sin]
    //   dx = dy * cos + swap(dy * sin±)          (swap is a permutation that is its own inverse)
    // cos and sin± are constants that broadcast against x, e.g. (T, 1, d) for x (B, T, heads, d).
    public static Value Rotary(this OnnxGraph g, Value x, Value cos, Value signedSin)
    {
        var y = g.Op("Add", [g.Op("Mul", [x, cos], x.Type, x.Shape), g.Op("Mul", [SwapHalves(g, x), signedSin], x.Type, x.Shape)],
            x.Type, x.Shape);
        g.Tape.Record(y, dy => g.Tape.Accumulate(x, () => g.Add(g.Mul(dy, cos), SwapHalves(g, g.Mul(dy, signedSin)))));
        return y;
    }

    /// <summary>[x_1, x_2] -> [x_2, x_1] along the last axis (no gradient rule: Rotary's covers it).</summary>
    private static Value SwapHalves(OnnxGraph g, Value x)
    {
        var half = x.Shape[^1] / 2;
        long[] shape = [.. x.Shape[..^1], half];
        string[] halves = [g.NewName("half"), g.NewName("half")];
        g.Node("Split", [x, g.Int64s(half, half)], halves).Int("axis", -1);
        return g.Op("Concat", [new Value(halves[1], x.Type, shape, false), new Value(halves[0], x.Type, shape, false)],
            x.Type, x.Shape, n => n.Int("axis", -1), requiresGrad: false);
    }
}

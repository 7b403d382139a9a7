using Distributed.Models.Autodiff;
using Distributed.Models.Graph;

namespace Distributed.Models.Gpt;

/// <summary>
/// Dropout as a multiplication by a mask that is a graph input. The trainer draws the masks from its
/// own seeded <see cref="Rng"/> (0 with probability p, else 1/(1-p)), so a resumed run draws exactly
/// the masks the uninterrupted run would have, which ONNX's Dropout (hidden RNG state) cannot give.
/// The gradient is the same multiplication, by <see cref="Ops.Mul"/>'s rule.
/// </summary>
public sealed class DropoutMasks(double probability)
{
    private readonly List<Value> _inputs = [];

    /// <summary>No dropout: evaluation and inference graphs, or dropout 0.</summary>
    public static DropoutMasks None => new(0);

    /// <summary>The mask inputs this graph declared, in order.</summary>
    public IReadOnlyList<Value> Inputs => _inputs;

    public Value Apply(OnnxGraph g, Value x)
    {
        if (probability == 0)
        {
            return x;
        }
        if (!x.IsStatic)
        {
            throw new InvalidOperationException("Dropout masks need static shapes (training graphs only).");
        }
        var mask = g.Input($"dropout_mask.{_inputs.Count}", g.FloatType, x.Shape);
        _inputs.Add(mask);
        return g.Mul(x, mask);
    }

    /// <summary>Fills one mask: each element is 0 with the dropout probability, else 1/(1-p).</summary>
    public static void Draw(Span<float> mask, double probability, Rng rng)
    {
        var keep = (float)(1.0 / (1.0 - probability));
        // 16 random bits per element are plenty for a keep/drop decision and 4x cheaper than 64.
        var threshold = (ulong)(probability * 65536.0);
        var i = 0;
        while (i < mask.Length)
        {
            var bits = rng.NextUInt64();
            for (var k = 0; k < 4 && i < mask.Length; k++, i++, bits >>= 16)
            {
                mask[i] = (bits & 0xFFFF) < threshold ? 0f : keep;
            }
        }
    }
}

using Distributed.Models;
using Distributed.Models.DataParallel;

namespace Distributed.Tests.DataParallel;

public class Bfloat16Tests
{
    [Fact]
    public void Encoding_rounds_to_the_nearest_bf16_with_ties_to_even_and_decoding_gives_exactly_what_round_gives()
    {
        // 1 + 2^-8 is halfway between two bf16 values (1 and 1 + 2^-7): ties go to the even one, 1.
        // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: the even one is 1 + 2^-6.
        var values = new[] { 1f + 1f / 256, 1f + 3f / 256, 1f + 1f / 256 + 1f / 65536, -2.5f, 3.0e-30f, 0f };
        var rng = new Rng(3);
        values = [.. values, .. Enumerable.Range(0, 1000).Select(_ => (float)rng.NextGaussian() * 1e-3f)];
        var bytes = new byte[values.Length * Bfloat16.Size];
        var decoded = new float[values.Length];

        Bfloat16.Encode(values, bytes);
        Bfloat16.Decode(bytes, decoded);
        var rounded = values.ToArray();
        Bfloat16.Round(rounded);

        Assert.Equal(rounded, decoded);
        Assert.Equal([1f, 1f + 4f / 256, 1f + 2f / 256, -2.5f], decoded[..4]);
        Assert.All(values.Zip(decoded), pair => Assert.True(Math.Abs(pair.First - pair.Second) <= Math.Abs(pair.First) / 256, $"{pair.First} -> {pair.Second}"));
    }
}

namespace Distributed.Models;

/// <summary>
/// A small deterministic random generator (xoshiro256**, seeded through SplitMix64) whose whole
/// state is four integers, so a checkpoint can save it and a resumed run draws the same numbers.
/// System.Random cannot be serialised, which is why this exists.
/// </summary>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;

    public Rng(long seed)
    {
        var x = (ulong)seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    private Rng(ulong[] state) => (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);

    /// <summary>The generator's state, to be saved and later given to <see cref="FromState"/>.</summary>
    public ulong[] State => [_s0, _s1, _s2, _s3];

    public static Rng FromState(IReadOnlyList<ulong> state)
    {
        if (state.Count != 4 || state.All(s => s == 0))
        {
            throw new ArgumentException("An Rng state is four integers, not all zero.", nameof(state));
        }
        return new Rng(state.ToArray());
    }

    public ulong NextUInt64()
    {
        var result = RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n), without modulo bias.</summary>
    public int NextInt(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        var limit = ulong.MaxValue - ulong.MaxValue % (ulong)n;
        ulong r;
        do { r = NextUInt64(); } while (r >= limit);
        return (int)(r % (ulong)n);
    }

    /// <summary>Standard normal sample (Box-Muller; the second value is discarded so state stays simple).</summary>
    public double NextGaussian()
    {
        double u1;
        do { u1 = NextDouble(); } while (u1 <= double.Epsilon);
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static ulong SplitMix64(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

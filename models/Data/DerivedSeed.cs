namespace Distributed.Models.Data;

/// <summary>
/// Seeds for independent random streams derived from one run seed, so any stream (say, epoch 7's shuffle)
/// can be rebuilt directly instead of by replaying all streams before it.
/// </summary>
public static class DerivedSeed
{
    /// <summary>
    /// Hashes (seed, purpose, index) with MurmurHash3's 64-bit finaliser. Seeding <see cref="Rng"/> with
    /// seed + index instead would be wrong: Rng expands its seed with SplitMix64 steps, so nearby seeds
    /// share three of their four state words and their streams are strongly correlated.
    /// </summary>
    public static long For(long seed, ulong purpose, long index)
    {
        var hash = Mix((ulong)seed ^ Mix(purpose));
        hash = Mix(hash ^ (ulong)index);
        return (long)hash;
    }

    private static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCDUL;
        x ^= x >> 33;
        x *= 0xC4CEB9FE1A85EC53UL;
        x ^= x >> 33;
        return x;
    }
}

namespace Distributed.Protocol;

/// <summary>
/// How the flat gradient is cut for the all-reduce: buckets of 1 MiB of float32, the last one shorter.
/// Coordinator and workers both cut with these, so bucket k means the same elements on each side.
/// </summary>
public static class DistributedBuckets
{
    public const int Elements = 1 << 18;

    /// <summary>How many buckets a buffer of <paramref name="total"/> elements makes.</summary>
    public static int Count(long total) => (int)((total + Elements - 1) / Elements);

    /// <summary>Where bucket <paramref name="bucket"/> of a buffer of <paramref name="total"/> elements starts, and its length.</summary>
    public static (int Start, int Length) Range(int bucket, long total)
    {
        var start = (long)bucket * Elements;
        return ((int)start, (int)Math.Min(Elements, total - start));
    }
}

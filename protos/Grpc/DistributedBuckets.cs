namespace Distributed.Protocol;

/// <summary>Gradient elements per all-reduce bucket (1 MiB of float32): both sides cut the flat gradient alike.</summary>
public static class DistributedBuckets
{
    public const int Elements = 1 << 18;
}

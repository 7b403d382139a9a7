using System.Security.Cryptography;

namespace Distributed.Models.Checkpoints;

/// <summary>A file's size and SHA-256, the fingerprint a manifest records and a load checks.</summary>
internal sealed record FileDigest(long Size, string Sha256)
{
    public static FileDigest Of(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 20);
        return new FileDigest(stream.Length, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }
}

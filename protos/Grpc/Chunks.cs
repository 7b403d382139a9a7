using System.Security.Cryptography;
using Google.Protobuf;

namespace Distributed.Protocol;

/// <summary>
/// Bulk transfers (state, shards) go as 1 MiB chunks; the last chunk of each blob carries the
/// SHA-256 of the whole blob so the receiver can check it arrived intact.
/// </summary>
public static class Chunks
{
    public const int Bytes = 1 << 20;

    /// <summary>Chunks of a bulk stream into a long-lived server (a worker's state into the coordinator): below the large-object heap's threshold.</summary>
    public const int SmallBytes = 64 << 10;

    public static IEnumerable<(long Offset, ByteString Chunk, string Sha256)> Of(byte[] blob) => Of(blob.AsMemory());

    /// <summary>
    /// The chunks of <paramref name="blob"/>, which must not change until they are sent: each chunk wraps
    /// its slice of the blob, no copy (gRPC spends its CPU on the bytes already).
    /// </summary>
    /// <param name="chunkBytes">Bytes per chunk; under 85,000 (<see cref="SmallBytes"/>) each chunk the receiver reads is an ordinary object, not a large one that costs it a full collection now and then.</param>
    public static IEnumerable<(long Offset, ByteString Chunk, string Sha256)> Of(ReadOnlyMemory<byte> blob, int chunkBytes = Bytes)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(blob.Span));
        for (long offset = 0; offset < blob.Length || offset == 0; offset += chunkBytes)
        {
            var length = (int)Math.Min(chunkBytes, blob.Length - offset);
            var last = offset + length >= blob.Length;
            yield return (offset, UnsafeByteOperations.UnsafeWrap(blob.Slice((int)offset, length)), last ? hash : "");
            if (last)
            {
                yield break;
            }
        }
    }

    /// <summary>Assembles chunks into <paramref name="blob"/> and, at the last one, checks the hash.</summary>
    public static bool Put(byte[] blob, long offset, ByteString chunk, string sha256, string what) => Put(blob.AsSpan(), offset, chunk.Span, sha256, what);

    /// <inheritdoc cref="Put(byte[], long, ByteString, string, string)"/>
    public static bool Put(Span<byte> blob, long offset, ReadOnlySpan<byte> chunk, string sha256, string what)
    {
        chunk.CopyTo(blob[(int)offset..]);
        if (sha256.Length == 0)
        {
            return false;
        }
        var actual = Convert.ToHexStringLower(SHA256.HashData(blob));
        if (actual != sha256)
        {
            throw new InvalidDataException($"{what} arrived corrupted: SHA-256 {actual}, expected {sha256}.");
        }
        return true;
    }
}

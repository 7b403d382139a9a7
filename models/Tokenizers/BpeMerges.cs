namespace Distributed.Models.Tokenizers;

/// <summary>
/// What BPE training learns. Ids 0..255 are the single bytes (id = byte value); each later id is a token's
/// UTF-8 bytes. <see cref="Merges"/> lists (left id, right id) in the order learned, which is the order
/// encoding applies them.
/// </summary>
internal sealed record BpeMerges(IReadOnlyList<byte[]> TokenBytes, IReadOnlyList<(int Left, int Right)> Merges);

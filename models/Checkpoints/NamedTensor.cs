namespace Distributed.Models.Checkpoints;

/// <summary>
/// A float32 tensor with its name and row-major shape, as stored in a checkpoint. When saving, the
/// data may be a view of live buffers (nothing is copied: at 85M parameters a copy of the weights and
/// AdamW moments is 1 GB); when loading, it is the tensor's own array.
/// </summary>
public sealed record NamedTensor(string Name, int[] Shape, ReadOnlyMemory<float> Data);

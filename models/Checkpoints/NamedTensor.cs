namespace Distributed.Models.Checkpoints;

/// <summary>A float32 tensor with its name and row-major shape, as stored in a checkpoint.</summary>
public sealed record NamedTensor(string Name, int[] Shape, float[] Data);

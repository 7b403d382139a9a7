namespace Distributed.Models.Checkpoints;

/// <summary>What a .safetensors file holds: its tensors in file order and its "__metadata__" strings.</summary>
public sealed record SafeTensorsFile(IReadOnlyList<NamedTensor> Tensors, IReadOnlyDictionary<string, string> Metadata);

using Distributed.Models.Config;

namespace Distributed.Models.Checkpoints;

/// <summary>
/// Everything needed to resume a run. The store treats it all as opaque: tensors by name, and text
/// or bytes the caller produced, so it does not depend on the model, optimizer or tokenizer code.
/// </summary>
public sealed record CheckpointContents
{
    /// <summary>Model weights, saved as model.safetensors.</summary>
    public required IReadOnlyList<NamedTensor> ModelTensors { get; init; }

    /// <summary>Optimizer state (e.g. Adam's m and v), saved as optimizer.safetensors.</summary>
    public IReadOnlyList<NamedTensor> OptimizerTensors { get; init; } = [];

    /// <summary>The run's config as JSON, saved as config.json.</summary>
    public required string ConfigJson { get; init; }

    /// <summary>Training progress (step, epoch, data position, RNG state) as JSON, saved as state.json.</summary>
    public required string StateJson { get; init; }

    /// <summary>Other files by plain file name (e.g. "tokenizer.json"), saved beside the rest.</summary>
    public IReadOnlyDictionary<string, byte[]> ExtraFiles { get; init; } = new Dictionary<string, byte[]>();

    /// <summary>
    /// Other files written straight to their stream when saving, for those too large to hold in memory
    /// whole (model.onnx carries every weight); <see cref="CheckpointStore.Load"/> returns them in <see cref="ExtraFiles"/>.
    /// </summary>
    public IReadOnlyDictionary<string, Action<Stream>> StreamedFiles { get; init; } = new Dictionary<string, Action<Stream>>();
}

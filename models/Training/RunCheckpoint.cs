using Distributed.Models.Checkpoints;
using Distributed.Models.Config;
using Distributed.Models.Gpt;
using Distributed.Models.Tokenizers;

namespace Distributed.Models.Training;

/// <summary>
/// A run's checkpoint: weights (model.safetensors), AdamW moments (optimizer.safetensors), the
/// resolved config, the position in the data and the RNG (state.json) and the tokenizer, each file
/// written atomically and listed with its SHA-256 in manifest.json, verified on load.
/// </summary>
public static class RunCheckpoint
{
    public static void Save(string directory, ReplicaSnapshot replica, TrainingState state, ITokenizer tokenizer, IReadOnlyDictionary<string, Action<Stream>> streamedFiles)
        => CheckpointStore.Save(directory, new CheckpointContents
        {
            ModelTensors = replica.Parameters.Layout.Views.Select(v => Tensor(v.Name, v, replica.Parameters)).ToList(),
            OptimizerTensors = replica.OptimizerState.Select(s => Tensor(s.Name, s.View, s.Buffer)).ToList(),
            ConfigJson = ConfigLoader.ToJson(replica.Config),
            StateJson = state.ToJson(),
            ExtraFiles = new Dictionary<string, byte[]>
            {
                [TokenizerFiles.FileName] = System.Text.Encoding.UTF8.GetBytes(tokenizer.ToJson()),
            },
            StreamedFiles = streamedFiles,
        });

    /// <summary>Reads and verifies a checkpoint; <see cref="Restore"/> then loads it into a trainer.</summary>
    public static (GptConfig Config, ITokenizer Tokenizer, CheckpointContents Contents) Load(string directory)
    {
        // Parse the bytes the manifest just verified, not the files again (they could change in between).
        var contents = CheckpointStore.Load(directory);
        var config = ConfigLoader.FromJson(contents.ConfigJson, $"'{Path.Combine(directory, CheckpointStore.ConfigFile)}'");
        if (!contents.ExtraFiles.TryGetValue(TokenizerFiles.FileName, out var tokenizer))
        {
            throw new CheckpointException($"'{directory}' has no {TokenizerFiles.FileName}; it was not written by train.");
        }
        return (config, TokenizerFiles.FromJson(System.Text.Encoding.UTF8.GetString(tokenizer), Path.Combine(directory, TokenizerFiles.FileName)), contents);
    }

    /// <summary>Copies a checkpoint's weights and optimizer moments into <paramref name="replica"/>; returns its position.</summary>
    public static TrainingState Restore(ModelReplica replica, CheckpointContents contents)
    {
        CopyInto(contents.ModelTensors, replica.Layout.Views.Select(v => (v.Name, v, replica.Parameters)));
        CopyInto(contents.OptimizerTensors, replica.Optimizer.State());
        var state = TrainingState.FromJson(contents.StateJson);
        replica.Optimizer.RestoreSteps(state.Step);
        return state;
    }

    private static NamedTensor Tensor(string name, ParameterView view, FlatBuffer buffer)
        => new(name, view.Shape, buffer.MemoryOf(view));

    private static void CopyInto(IReadOnlyList<NamedTensor> tensors, IEnumerable<(string Name, ParameterView View, FlatBuffer Buffer)> targets)
    {
        var byName = tensors.ToDictionary(t => t.Name);
        foreach (var (name, view, buffer) in targets)
        {
            if (!byName.TryGetValue(name, out var tensor))
            {
                throw new CheckpointException($"The checkpoint has no tensor '{name}'; it was written for a different model.");
            }
            if (!tensor.Shape.SequenceEqual(view.Shape))
            {
                throw new CheckpointException(
                    $"Tensor '{name}' has shape [{string.Join(",", tensor.Shape)}] in the checkpoint but [{string.Join(",", view.Shape)}] in this model.");
            }
            tensor.Data.Span.CopyTo(buffer[view]);
        }
    }
}

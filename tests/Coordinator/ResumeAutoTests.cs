using System.CommandLine;
using Distributed.Coordinator.Commands;
using Distributed.Models.Checkpoints;
using Distributed.Models.Config;
using Distributed.Models;
using Distributed.Tests.Checkpoints;

namespace Distributed.Tests.Coordinator;

/// <summary>--resume auto: the checkpoint in --out when there is one, else a fresh run, said in one line either way.</summary>
public sealed class ResumeAutoTests : IDisposable
{
    private readonly TempDirectory _out = new();
    private readonly List<string> _log = [];

    public void Dispose() => _out.Dispose();

    private Distributed.Models.Training.TrainingJobOptions Read()
    {
        var training = new TrainingOptions();
        var command = new Command("serve");
        training.AddTo(command);
        return training.Read(command.Parse(["--config", "c.json", "--out", _out.Path, "--resume", "auto"]), _log.Add);
    }

    private void SaveCheckpoint() => CheckpointStore.Save(_out.Path, new CheckpointContents
    {
        ModelTensors = [new("wte", [2], new[] { 1f, 2f })],
        OptimizerTensors = [],
        ConfigJson = ConfigLoader.ToJson(new GptConfig()),
        StateJson = """{"step":20}""",
    });

    [Fact]
    public void An_empty_output_folder_starts_the_run_afresh_from_its_config()
    {
        var options = Read();

        Assert.Null(options.ResumeDirectory);
        Assert.Equal("c.json", options.ConfigPath);
        Assert.Equal(_out.Path, options.OutputDirectory);
        Assert.Equal($"--resume auto: no checkpoint in {_out.Path}; starting the run afresh.", Assert.Single(_log));
    }

    [Fact]
    public void A_checkpoint_in_the_output_folder_is_resumed_with_its_own_config()
    {
        SaveCheckpoint();

        var options = Read();

        Assert.Equal(_out.Path, options.ResumeDirectory);
        Assert.Null(options.ConfigPath);
        Assert.StartsWith($"--resume auto: resuming from the checkpoint in {_out.Path} with its own config", Assert.Single(_log));
    }

    [Fact]
    public void An_unfinished_checkpoint_is_refused_rather_than_trained_over()
    {
        SaveCheckpoint();
        File.Delete(_out.File(CheckpointStore.ManifestFile));

        var error = Assert.Throws<CheckpointException>(Read);

        Assert.Contains("holds a checkpoint whose save never finished", error.Message);
        Assert.Contains("pass another --out", error.Message);
    }
}

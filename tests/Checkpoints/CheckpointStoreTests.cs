using System.Security.Cryptography;
using System.Text.Json;
using Distributed.Models.Checkpoints;
using Distributed.Models.Config;
using Distributed.Models;

namespace Distributed.Tests.Checkpoints;

public sealed class CheckpointStoreTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Directory => _temp.Path;

    private static CheckpointContents Sample()
    {
        var random = new Rng(1);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)random.NextGaussian()).ToArray();
        return new CheckpointContents
        {
            ModelTensors = [new("wte", [5, 4], Values(20)), new("ln_f.bias", [4], new[] { 0f, -0f, float.NaN, 1e-42f })],
            OptimizerTensors = [new("adam.m.wte", [5, 4], Values(20)), new("adam.v.wte", [5, 4], Values(20))],
            ConfigJson = ConfigLoader.ToJson(new GptConfig()),
            StateJson = """{"step":120,"epoch":1,"data_position":4096,"rng":[1,2,3,4],"note":"ünïcode"}""",
            ExtraFiles = new Dictionary<string, byte[]> { ["tokenizer.json"] = [1, 2, 3], ["merges.txt"] = [] },
        };
    }

    private static void AssertSame(CheckpointContents expected, CheckpointContents actual)
    {
        static void Tensors(IReadOnlyList<NamedTensor> e, IReadOnlyList<NamedTensor> a)
        {
            Assert.Equal(e.Select(t => (t.Name, string.Join(",", t.Shape))), a.Select(t => (t.Name, string.Join(",", t.Shape))));
            Assert.Equal(
                e.Select(t => t.Data.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray()),
                a.Select(t => t.Data.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray()));
        }
        Tensors(expected.ModelTensors, actual.ModelTensors);
        Tensors(expected.OptimizerTensors, actual.OptimizerTensors);
        Assert.Equal(expected.ConfigJson, actual.ConfigJson);
        Assert.Equal(expected.StateJson, actual.StateJson);
        Assert.Equal(expected.ExtraFiles.OrderBy(f => f.Key), actual.ExtraFiles.OrderBy(f => f.Key));
    }

    private void Corrupt(string name, Action<string> damage) => damage(Path.Combine(Directory, name));

    [Fact]
    public void RoundTripIsBitExact()
    {
        var saved = Sample();

        CheckpointStore.Save(Directory, saved);

        AssertSame(saved, CheckpointStore.Load(Directory));
    }

    [Fact]
    public void ManifestListsEveryFileWithSizeAndHash()
    {
        CheckpointStore.Save(Directory, Sample());

        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "manifest.json")));
        Assert.Equal(1, manifest.RootElement.GetProperty("format_version").GetInt32());
        var files = manifest.RootElement.GetProperty("files").EnumerateArray().ToList();
        Assert.Equal(
            ["model.safetensors", "optimizer.safetensors", "config.json", "state.json", "merges.txt", "tokenizer.json"],
            files.Select(f => f.GetProperty("name").GetString()));
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(Path.Combine(Directory, file.GetProperty("name").GetString()!));
            Assert.Equal(bytes.Length, file.GetProperty("size").GetInt64());
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), file.GetProperty("sha256").GetString());
        }
    }

    [Fact]
    public void AStreamedFileIsVerifiedAndLoadsBackAsAnExtraFile()
    {
        var saved = Sample() with { StreamedFiles = new Dictionary<string, Action<Stream>> { ["model.onnx"] = s => s.Write([9, 8, 7]) } };

        CheckpointStore.Save(Directory, saved);
        File.WriteAllBytes(Path.Combine(Directory, "model.onnx"), [9, 8, 6]);

        var error = Assert.Throws<CheckpointException>(() => CheckpointStore.Load(Directory));
        Assert.Contains("model.onnx does not match manifest.json", error.Message);
        File.WriteAllBytes(Path.Combine(Directory, "model.onnx"), [9, 8, 7]);
        Assert.Equal([9, 8, 7], CheckpointStore.Load(Directory).ExtraFiles["model.onnx"]);
    }

    [Fact]
    public void AFileGivenBothAsBytesAndAsAStreamIsRefused()
    {
        var contents = Sample() with { StreamedFiles = new Dictionary<string, Action<Stream>> { ["tokenizer.json"] = s => s.Write([1]) } };

        var error = Assert.Throws<CheckpointException>(() => CheckpointStore.Save(Directory, contents));

        Assert.Contains("'tokenizer.json' is given twice", error.Message);
        Assert.Empty(System.IO.Directory.GetFileSystemEntries(Directory));
    }

    [Fact]
    public void SavingAgainReplacesTheCheckpoint()
    {
        CheckpointStore.Save(Directory, Sample());
        var second = Sample() with { StateJson = """{"step":240}""", ExtraFiles = new Dictionary<string, byte[]>() };

        CheckpointStore.Save(Directory, second);

        AssertSame(second, CheckpointStore.Load(Directory));
    }

    [Fact]
    public void OneFlippedByteInTheModelIsRefused()
    {
        CheckpointStore.Save(Directory, Sample());
        Corrupt("model.safetensors", path =>
        {
            var bytes = File.ReadAllBytes(path);
            bytes[^3] ^= 0x01;
            File.WriteAllBytes(path, bytes);
        });

        var error = Assert.Throws<CheckpointException>(() => CheckpointStore.Load(Directory));

        Assert.StartsWith($"checkpoint '{Directory}' is corrupt: model.safetensors does not match manifest.json (expected ", error.Message);
        Assert.Matches("expected \\d+ bytes, SHA-256 [0-9a-f]{64}; found \\d+ bytes, SHA-256 [0-9a-f]{64}\\)", error.Message);
    }

    [Fact]
    public void ATruncatedFileIsRefused()
    {
        CheckpointStore.Save(Directory, Sample());
        Corrupt("optimizer.safetensors", path =>
        {
            using var stream = File.OpenWrite(path);
            stream.SetLength(stream.Length - 4);
        });

        var error = Assert.Throws<CheckpointException>(() => CheckpointStore.Load(Directory));

        Assert.Contains("is corrupt: optimizer.safetensors does not match manifest.json", error.Message);
    }

    [Theory]
    [InlineData("state.json")]
    [InlineData("tokenizer.json")]
    public void AMissingFileIsRefused(string name)
    {
        CheckpointStore.Save(Directory, Sample());
        Corrupt(name, File.Delete);

        var error = Assert.Throws<CheckpointException>(() => CheckpointStore.Load(Directory));

        Assert.Contains($"is corrupt: {name} does not match manifest.json", error.Message);
        Assert.Contains("the file is missing", error.Message);
    }

    [Fact]
    public void AMissingManifestMeansAnUnfinishedSave()
    {
        CheckpointStore.Save(Directory, Sample());
        Corrupt("manifest.json", File.Delete);

        var error = Assert.Throws<CheckpointException>(() => CheckpointStore.Load(Directory));

        Assert.Equal(
            $"checkpoint '{Directory}' has no manifest.json: its save did not finish, or this is not a checkpoint directory; "
            + "resume from another checkpoint",
            error.Message);
    }

    [Fact]
    public void ASaveThatFailsPartWayLeavesThePreviousCheckpointLoadable()
    {
        CheckpointStore.Save(Directory, Sample());
        var failing = Sample() with
        {
            StateJson = """{"step":240}""",
            StreamedFiles = new Dictionary<string, Action<Stream>> { ["model.onnx"] = _ => throw new IOException("No space left on device") },
        };

        Assert.Throws<CheckpointException>(() => CheckpointStore.Save(Directory, failing));

        Assert.Equal(CheckpointPresence.Finished, CheckpointStore.Presence(Directory));
        AssertSame(Sample(), CheckpointStore.Load(Directory));
    }

    [Fact]
    public void ASaveKilledWhileMovingTheNewCheckpointIntoPlaceIsFinishedByRecover()
    {
        CheckpointStore.Save(Directory, Sample());
        var second = Sample() with { StateJson = """{"step":240}""" };
        // The state a kill leaves mid-commit: the new checkpoint complete beside the old, the old manifest gone, one file moved.
        var built = Path.Combine(Directory, "built");
        CheckpointStore.Save(built, second);
        var staging = Path.Combine(Directory, CheckpointStore.StagingFolder);
        System.IO.Directory.Move(built, staging);
        File.Delete(Path.Combine(Directory, CheckpointStore.ManifestFile));
        File.Move(Path.Combine(staging, CheckpointStore.ModelFile), Path.Combine(Directory, CheckpointStore.ModelFile), overwrite: true);

        Assert.Equal(CheckpointPresence.Finished, CheckpointStore.Presence(Directory));
        Assert.Throws<CheckpointException>(() => CheckpointStore.Load(Directory));   // a reader changes nothing
        Assert.True(System.IO.Directory.Exists(staging));
        CheckpointStore.Recover(Directory);
        AssertSame(second, CheckpointStore.Load(Directory));
        Assert.False(System.IO.Directory.Exists(staging));
    }

    [Fact]
    public void PresenceTellsNoCheckpointFromAnUnfinishedOne()
    {
        Assert.Equal(CheckpointPresence.None, CheckpointStore.Presence(Directory));
        CheckpointStore.Save(Directory, Sample());
        File.Delete(Path.Combine(Directory, CheckpointStore.ManifestFile));
        Assert.Equal(CheckpointPresence.Unfinished, CheckpointStore.Presence(Directory));
    }

    [Fact]
    public void AMissingDirectoryIsNamed()
    {
        var missing = Path.Combine(Directory, "step_100");

        var error = Assert.Throws<CheckpointException>(() => CheckpointStore.Load(missing));

        Assert.Equal($"checkpoint directory '{missing}' does not exist; check the path", error.Message);
    }

    [Theory]
    [InlineData("""{"format_version":1}""", "manifest.json cannot be read")]
    [InlineData("""{"format_version":1,"files":[{"name":"x","size":1}]}""", "manifest.json cannot be read")]
    [InlineData("not json", "manifest.json cannot be read")]
    [InlineData("""{"format_version":1,"files":[{"name":"../escape","size":1,"sha256":"00"}]}""", "manifest.json lists '../escape', which is not a plain file name")]
    [InlineData("""{"format_version":1,"files":[]}""", "manifest.json does not list model.safetensors")]
    public void ADamagedManifestIsRefused(string manifest, string fault)
    {
        File.WriteAllText(Path.Combine(Directory, "manifest.json"), manifest);

        var error = Assert.Throws<CheckpointException>(() => CheckpointStore.Load(Directory));

        Assert.StartsWith($"checkpoint '{Directory}' is corrupt: {fault}", error.Message);
    }

    [Fact]
    public void ANewerFormatVersionIsRefused()
    {
        CheckpointStore.Save(Directory, Sample());
        var path = Path.Combine(Directory, "manifest.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"format_version\": 1", "\"format_version\": 2"));

        var error = Assert.Throws<CheckpointException>(() => CheckpointStore.Load(Directory));

        Assert.Contains("has manifest.json format_version 2, but this build reads version 1", error.Message);
    }

    [Theory]
    [InlineData("../outside.txt")]
    [InlineData("sub/file.txt")]
    [InlineData(".hidden")]
    [InlineData("model.safetensors")]
    [InlineData("manifest.json")]
    [InlineData("")]
    public void ExtraFilesMustHavePlainUnreservedNames(string name)
    {
        var contents = Sample() with { ExtraFiles = new Dictionary<string, byte[]> { [name] = [1] } };

        var error = Assert.Throws<CheckpointException>(() => CheckpointStore.Save(Directory, contents));

        Assert.Contains($"extra file name '{name}' is not allowed", error.Message);
        Assert.Empty(System.IO.Directory.GetFileSystemEntries(Directory));
    }
}

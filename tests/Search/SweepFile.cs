using Distributed.Models.Config;
using Distributed.Models.Search;
using Distributed.Models;
using Distributed.Tests.Checkpoints;

namespace Distributed.Tests.Search;

/// <summary>Writes sweep files into a temporary folder and loads them, for the search tests.</summary>
public sealed class SweepFile : IDisposable
{
    private readonly TempDirectory _temp = new();

    public string Folder => _temp.Path;

    public string Write(string json, string name = "sweep.json")
    {
        var path = _temp.File(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, json);
        return path;
    }

    public SweepSpec Load(string json) => SweepLoader.Load(Write(json));

    /// <summary>The problems loading <paramref name="json"/> reports, and the path they name.</summary>
    public (IReadOnlyList<string> Problems, string Source) Fails(string json)
    {
        var path = Write(json);
        var error = Assert.Throws<ConfigException>(() => SweepLoader.Load(path));
        return (error.Problems, $"sweep file '{path}'");
    }

    public void Dispose() => _temp.Dispose();
}

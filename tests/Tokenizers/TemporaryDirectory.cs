namespace Distributed.Tests.Tokenizers;

/// <summary>A fresh directory under the system temp folder, deleted with everything in it on dispose.</summary>
internal sealed class TemporaryDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("distributed-tests-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

using Distributed.Models.Checkpoints;
using Distributed.Models;

namespace Distributed.Tests.Checkpoints;

public sealed class AtomicFileTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void WritesANewFileAndReplacesAnOldOne()
    {
        var path = _temp.File("a.bin");

        AtomicFile.Write(path, s => s.Write([1, 2, 3]));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));

        AtomicFile.Write(path, s => s.Write([9]));
        Assert.Equal([9], File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_temp.Path));
    }

    [Fact]
    public void AFailedWriteLeavesTheOldFileAndNoTemporary()
    {
        var path = _temp.File("a.bin");
        File.WriteAllBytes(path, [1, 2, 3]);

        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write([7, 7]);
            throw new InvalidOperationException("disk on fire");
        }));

        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_temp.Path));
    }

    [Fact]
    public void TheTemporaryIsBesideTheTarget()
    {
        var path = _temp.File("a.bin");
        string? temporary = null;

        AtomicFile.Write(path, s =>
        {
            temporary = ((FileStream)s).Name;
            Assert.False(File.Exists(path)); // the target appears only at the rename
        });

        Assert.Equal(_temp.Path, Path.GetDirectoryName(temporary));
        Assert.StartsWith(".a.bin.", Path.GetFileName(temporary));
    }
}

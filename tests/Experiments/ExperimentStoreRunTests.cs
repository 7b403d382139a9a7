using Distributed.Models.Experiments;
using Distributed.Tests.Checkpoints;

namespace Distributed.Tests.Experiments;

public sealed class ExperimentStoreRunTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly ExperimentStore _store;

    public ExperimentStoreRunTests() => _store = ExperimentStore.Open(_temp.File(ExperimentStore.DefaultFileName));

    public void Dispose()
    {
        _store.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void LatestRunFindsTheNewestOfThatKindInThatDirectoryHoweverSpelled()
    {
        var a = _temp.File("a");
        var first = _store.CreateRun(RunKind.Sweep, "first", a, "s1");
        _store.CreateRun(RunKind.Sweep, "elsewhere", _temp.File("b"), "s2");
        var second = _store.CreateRun(RunKind.Sweep, "second", a + "/", "s3");
        _store.CreateRun(RunKind.Train, "a train", a, "t");

        Assert.Equal(second, _store.LatestRun(Path.Combine(_temp.Path, ".", "a"), RunKind.Sweep)?.Id);
        Assert.Equal(a, _store.Run(second)?.OutputDirectory);
        Assert.Null(_store.LatestRun(_temp.File("c"), RunKind.Sweep));
        Assert.Equal([first, second], _store.Runs().Where(r => r.Kind == RunKind.Sweep && r.OutputDirectory == a).Select(r => r.Id));
    }

    [Fact]
    public void AnInterruptedRunResumesAndAddsUpItsSeconds()
    {
        var id = _store.CreateRun(RunKind.Sweep, "lr", _temp.Path, "sweep");
        Assert.Equal(RunStatus.Running, _store.Run(id)?.Status);
        Assert.Null(_store.Run(id)?.Seconds);

        _store.FinishRun(id, RunStatus.Interrupted, 30);
        Assert.Equal(RunStatus.Interrupted, _store.LatestRun(_temp.Path, RunKind.Sweep)?.Status);
        Assert.Throws<InvalidOperationException>(() => _store.FinishRun(id, RunStatus.Completed, 1));

        _store.ResumeRun(id);
        Assert.Equal(RunStatus.Running, _store.Run(id)?.Status);
        Assert.Null(_store.Run(id)?.FinishedAt);

        _store.FinishRun(id, RunStatus.Completed, 12.5);
        Assert.Equal((RunStatus.Completed, 42.5), (_store.Run(id)?.Status, _store.Run(id)?.Seconds));
    }

    [Fact]
    public void BadArgumentsAndUnknownRunsGiveClearErrors()
    {
        var id = _store.CreateRun(RunKind.Train, "t", _temp.Path, "{}");

        var kind = Assert.Throws<ArgumentException>(() => _store.CreateRun("trian", "t", _temp.Path, "{}"));
        Assert.Contains("'train', 'sweep'", kind.Message);
        Assert.Throws<ArgumentException>(() => _store.FinishRun(id, RunStatus.Running, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => _store.FinishRun(id, RunStatus.Completed, double.NaN));
        var missing = Assert.Throws<KeyNotFoundException>(() => _store.FinishRun(404, RunStatus.Completed, 1));
        Assert.Contains("no run 404", missing.Message);
        Assert.Throws<KeyNotFoundException>(() => _store.ResumeRun(404));
        Assert.Null(_store.Run(404));
    }
}

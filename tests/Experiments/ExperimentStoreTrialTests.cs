using Distributed.Models.Experiments;
using Distributed.Tests.Checkpoints;

namespace Distributed.Tests.Experiments;

public sealed class ExperimentStoreTrialTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly ManualClock _clock = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly ExperimentStore _store;
    private readonly long _run;

    public ExperimentStoreTrialTests()
    {
        _store = ExperimentStore.Open(_temp.File(ExperimentStore.DefaultFileName), _clock);
        _run = _store.CreateRun(RunKind.Sweep, "lr", _temp.Path, "sweep");
    }

    public void Dispose()
    {
        _store.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void AddTrialIsIdempotentPerRunAndIndex()
    {
        var first = _store.AddTrial(_run, 0, """{"lr":0.1}""", "{}");
        Assert.Equal(first, _store.AddTrial(_run, 0, """{"lr":0.1}""", "{}"));
        var second = _store.AddTrial(_run, 1, """{"lr":0.01}""", "{}");
        var otherRun = _store.CreateRun(RunKind.Sweep, "again", _temp.Path, "sweep");
        var elsewhere = _store.AddTrial(otherRun, 0, """{"lr":0.1}""", "{}");

        Assert.Equal(3, new[] { first, second, elsewhere }.Distinct().Count());
        Assert.Equal([0, 1], _store.Trials(_run).Select(t => t.Index));
        Assert.All(_store.Trials(_run), t => Assert.Equal((TrialStatus.Pending, 0), (t.Status, t.Attempts)));

        var changed = Assert.Throws<InvalidOperationException>(() => _store.AddTrial(_run, 0, """{"lr":0.5}""", "{}"));
        Assert.Contains("""{"lr":0.1}""", changed.Message);
        Assert.Throws<KeyNotFoundException>(() => _store.AddTrial(404, 0, "{}", "{}"));
    }

    [Fact]
    public void StatusesMoveThroughAttemptsWithReasonsAndTime()
    {
        var id = _store.AddTrial(_run, 0, "{}", "{}");

        _store.StartTrial(id);
        var running = _store.Trial(id)!;
        Assert.Equal((TrialStatus.Running, 1, _clock.Now), (running.Status, running.Attempts, running.StartedAt));

        _clock.Advance(TimeSpan.FromSeconds(5));
        _store.FinishTrial(id, TrialStatus.Failed, "worker lost", null, null);
        var failed = _store.Trial(id)!;
        Assert.Equal((TrialStatus.Failed, "worker lost", 5.0, _clock.Now), (failed.Status, failed.Reason, failed.Seconds, failed.FinishedAt));

        _store.StartTrial(id); // a retry
        var retried = _store.Trial(id)!;
        Assert.Equal((TrialStatus.Running, 2, null, null), (retried.Status, retried.Attempts, retried.Reason, retried.FinishedAt));

        _clock.Advance(TimeSpan.FromSeconds(7));
        _store.FinishTrial(id, TrialStatus.StoppedEarly, "val loss above median at step 500", 3.25, _temp.File("t0"));
        var stopped = _store.Trial(id)!;
        Assert.Equal((TrialStatus.StoppedEarly, "val loss above median at step 500", 12.0, 3.25, 3.25, _temp.File("t0")),
            (stopped.Status, stopped.Reason, stopped.Seconds, stopped.FinalValLoss, stopped.BestValLoss, stopped.CheckpointPath));

        Assert.Throws<InvalidOperationException>(() => _store.StartTrial(id));
        Assert.Throws<InvalidOperationException>(() => _store.FinishTrial(id, TrialStatus.Completed, null, 1, null));
    }

    [Fact]
    public void StoppedAndFailedTrialsNeedAReason()
    {
        var id = _store.AddTrial(_run, 0, "{}", "{}");
        _store.StartTrial(id);

        Assert.Throws<ArgumentException>(() => _store.FinishTrial(id, TrialStatus.Failed, null, null, null));
        Assert.Throws<ArgumentException>(() => _store.FinishTrial(id, TrialStatus.StoppedEarly, " ", null, null));
        Assert.Throws<ArgumentException>(() => _store.FinishTrial(id, TrialStatus.Pending, "no", null, null));
        Assert.Equal(TrialStatus.Running, _store.Trial(id)?.Status);
    }

    [Fact]
    public void APendingTrialCanFailBeforeItStarts()
    {
        var id = _store.AddTrial(_run, 0, "{}", "{}");
        _store.FinishTrial(id, TrialStatus.Failed, "config rejected: n_head does not divide n_embd", null, null);
        var trial = _store.Trial(id)!;
        Assert.Equal((TrialStatus.Failed, 0, null), (trial.Status, trial.Attempts, trial.Seconds));
    }

    [Fact]
    public void TheCheckpointIsKeptWhenFinishingWithoutOne()
    {
        var id = _store.AddTrial(_run, 0, "{}", "{}");
        _store.StartTrial(id);
        _store.SetCheckpoint(id, _temp.File("t0"));
        _store.FinishTrial(id, TrialStatus.Failed, "out of memory", null, null);
        Assert.Equal(_temp.File("t0"), _store.Trial(id)?.CheckpointPath);

        _store.SetCheckpoint(id, null);
        Assert.Null(_store.Trial(id)?.CheckpointPath);
        Assert.Throws<KeyNotFoundException>(() => _store.SetCheckpoint(404, "x"));
        Assert.Throws<KeyNotFoundException>(() => _store.StartTrial(404));
    }
}

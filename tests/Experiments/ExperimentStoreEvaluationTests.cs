using Distributed.Models.Experiments;
using Distributed.Tests.Checkpoints;

namespace Distributed.Tests.Experiments;

public sealed class ExperimentStoreEvaluationTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly ExperimentStore _store;
    private readonly long _run;

    public ExperimentStoreEvaluationTests()
    {
        _store = ExperimentStore.Open(_temp.File(ExperimentStore.DefaultFileName));
        _run = _store.CreateRun(RunKind.Sweep, "lr", _temp.Path, "sweep");
    }

    public void Dispose()
    {
        _store.Dispose();
        _temp.Dispose();
    }

    private static EvaluationRow Eval(int step, double valLoss) => new(step, step / 1000, valLoss + 0.1, valLoss, 1e-3, 5000);

    [Fact]
    public void EvaluationsComeBackByStepAndTheBestLossIsKept()
    {
        var id = _store.AddTrial(_run, 0, "{}", "{}");
        _store.StartTrial(id);

        _store.RecordEvaluation(id, Eval(200, 2.0));
        Assert.Equal(2.0, _store.Trial(id)?.BestValLoss);
        _store.RecordEvaluation(id, Eval(100, 3.0));
        _store.RecordEvaluation(id, Eval(300, double.NaN)); // diverged: kept as NaN, not the best
        Assert.Equal(2.0, _store.Trial(id)?.BestValLoss);

        var rows = _store.Evaluations(id);
        Assert.Equal([100, 200, 300], rows.Select(r => r.Step));
        Assert.True(double.IsNaN(rows[2].ValLoss));

        // A resumed trial repeats step 200 with another value: it replaces the old row and the best follows.
        _store.RecordEvaluation(id, Eval(200, 2.5));
        Assert.Equal([3.0, 2.5, double.NaN], _store.Evaluations(id).Select(r => r.ValLoss));
        Assert.Equal(2.5, _store.Trial(id)?.BestValLoss);

        _store.FinishTrial(id, TrialStatus.Completed, null, 2.25, null);
        Assert.Equal((2.25, 2.25), (_store.Trial(id)?.BestValLoss, _store.Trial(id)?.FinalValLoss));
        Assert.Throws<KeyNotFoundException>(() => _store.RecordEvaluation(404, Eval(1, 1)));
    }

    [Fact]
    public void ConcurrentTrialsLoseNoEvaluations()
    {
        const int trials = 4, threadsPerTrial = 2, perThread = 60;
        var ids = Enumerable.Range(0, trials).Select(i => _store.AddTrial(_run, i, $$"""{"i":{{i}}}""", "{}")).ToArray();
        using var start = new Barrier(trials * threadsPerTrial + 1);

        var threads = Enumerable.Range(0, trials * threadsPerTrial).Select(t => new Thread(() =>
        {
            var trial = ids[t % trials];
            var offset = t / trials; // the threads of one trial write interleaved steps
            start.SignalAndWait();
            for (var k = 0; k < perThread; k++)
            {
                var step = (k * threadsPerTrial + offset) * 10;
                _store.RecordEvaluation(trial, Eval(step, 10.0 - step / 1000.0 + t % trials));
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        start.SignalAndWait();
        while (threads.Any(t => t.IsAlive))
            Assert.Equal(trials, _store.Trials(_run).Count); // reads interleave with the writes
        threads.ForEach(t => t.Join());

        var lastStep = (perThread * threadsPerTrial - 1) * 10;
        for (var i = 0; i < trials; i++)
        {
            var steps = _store.Evaluations(ids[i]).Select(r => r.Step).ToArray();
            Assert.Equal(Enumerable.Range(0, perThread * threadsPerTrial).Select(k => k * 10), steps);
            Assert.Equal(10.0 - lastStep / 1000.0 + i, _store.Trial(ids[i])!.BestValLoss!.Value, 12);
        }
    }
}

using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Distributed.Coordinator.Dashboard;
using Distributed.Coordinator.Distributed;
using Distributed.Coordinator.Reports;
using Distributed.Models.Checkpoints;
using Distributed.Models.Config;
using Distributed.Coordinator.Data;
using Distributed.Models.Experiments;
using Distributed.Models.Search;
using Distributed.Models.Training;
using Distributed.Models;
using Distributed.Protocol;

namespace Distributed.Coordinator.Search;

/// <summary>
/// A hyperparameter search: plan the trials, run them data-parallel on groups of workers_per_trial
/// local worker processes (N / workers_per_trial trials at once), stop the hopeless ones early
/// (patience, successive halving), retry an attempt that lost a worker, record everything in the
/// experiment store, keep the best checkpoint and write the report.
/// </summary>
public sealed class SweepJob(SweepJobOptions options, Action<string> log, ILoggerFactory loggers)
{
    private const string TrialsFolder = "trials";

    public async Task<IReadOnlyList<TrialResult>> RunAsync(CancellationToken cancel)
    {
        var spec = SweepLoader.Load(options.SweepPath);
        var plan = TrialPlanner.Plan(spec);
        var group = spec.WorkersPerTrial ?? options.Workers;
        if (group < 1 || group > options.Workers)
        {
            throw new ArgumentException($"workers_per_trial {group} must be between 1 and --workers {options.Workers}.");
        }
        var text = CorpusArgument.Read(options.Data);
        Directory.CreateDirectory(options.OutputDirectory);
        using var store = ExperimentStore.Open(Path.Combine(options.OutputDirectory, ExperimentStore.DefaultFileName));
        var runId = StartOrResume(store, spec);
        var trialIds = plan.Trials.ToDictionary(t => t.Index,
            t => store.AddTrial(runId, t.Index, JsonSerializer.Serialize(t.Values), ConfigLoader.ToJson(t.Config)));
        var finished = store.Trials(runId).Where(t => t.Status is TrialStatus.Completed or TrialStatus.StoppedEarly or TrialStatus.Failed)
            .Select(t => t.Index).ToHashSet();
        var pending = plan.Trials.Where(t => !finished.Contains(t.Index)).ToList();
        var dashboard = new SweepBoard(plan.Trials.ToDictionary(t => t.Index, t => t.Describe()), () => store.Trials(runId));
        await using var listener = options.DashboardPort is { } port
            ? await MetricsListener.StartAsync(IPAddress.Loopback, port, registry: null, "--dashboard-port", CancellationToken.None, DashboardPages.For(dashboard.Snapshot))
            : null;
        if (listener is not null)
        {
            log($"Dashboard: {listener.Root}");
        }
        log($"{plan.Trials.Count} trials ({spec.Strategy.ToString().ToLowerInvariant()}; {plan.ResampledInvalid} invalid random combinations resampled), " +
            $"{finished.Count} already finished; {options.Workers / group} at a time on {group} worker(s) each.");

        var clock = Stopwatch.StartNew();
        var rules = new StopRules(spec);
        using var slots = new SemaphoreSlim(options.Workers / group);
        await Task.WhenAll(pending.Select(async trial =>
        {
            try
            {
                await slots.WaitAsync(cancel);
            }
            catch (OperationCanceledException)
            {
                return;   // stopped before its turn: the trial stays pending for --resume
            }
            try
            {
                await RunTrialAsync(store, trialIds[trial.Index], trial, spec, group, text, rules, dashboard, cancel);
            }
            finally
            {
                slots.Release();
            }
        }));
        store.FinishRun(runId, cancel.IsCancellationRequested ? RunStatus.Interrupted : RunStatus.Completed, clock.Elapsed.TotalSeconds);

        var trials = store.Trials(runId);
        if (spec.Keep == KeepPolicy.Best)
        {
            PruneAllButBest(store, trials);
        }
        return Results(store, store.Trials(runId));
    }

    private long StartOrResume(ExperimentStore store, SweepSpec spec)
    {
        if (options.Resume)
        {
            var previous = store.LatestRun(Path.GetFullPath(options.OutputDirectory), RunKind.Sweep)
                ?? throw new ArgumentException($"There is no sweep to resume in {options.OutputDirectory}; run without --resume to start one.");
            store.ResumeRun(previous.Id);
            log($"Resuming sweep {previous.Id} from {options.OutputDirectory}.");
            return previous.Id;
        }
        return store.CreateRun(RunKind.Sweep, Path.GetFileNameWithoutExtension(spec.SourcePath), Path.GetFullPath(options.OutputDirectory),
            File.ReadAllText(spec.SourcePath));
    }

    private async Task RunTrialAsync(ExperimentStore store, long trialId, TrialPlan trial, SweepSpec spec, int group, string text,
        StopRules rules, SweepBoard dashboard, CancellationToken cancel)
    {
        var directory = Path.Combine(options.OutputDirectory, TrialsFolder, $"{trial.Index:D3}");
        for (var attempt = 0; ; attempt++)
        {
            store.StartTrial(trialId);
            rules.Forget(trial.Index);
            log($"trial {trial.Index} (attempt {attempt + 1}): {trial.Describe()}");
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);   // an earlier, unfinished attempt
            }
            RunSummary summary;
            try
            {
                var prepared = TrainingJob.PrepareFresh(trial.Config, text, directory);
                var job = new DistributedJobOptions
                {
                    Training = new TrainingJobOptions { Data = options.Data, OutputDirectory = directory },
                    // A lost worker fails the attempt (min-workers = the group): the trial is retried whole.
                    Run = new DistributedRunOptions { Workers = group, MinWorkers = group, Timeout = options.Timeout, OutputDirectory = directory },
                    LocalWorkers = group,
                    // Trials run side by side: the cores are shared by every worker of the sweep.
                    ThreadsPerWorker = WorkerThreads.Each(options.Workers, 0, Environment.ProcessorCount),
                };
                var observer = new EvaluationRecorder(store, trialId, new TrialLog(trial.Index, log));
                var chance = Math.Log(prepared.Config.VocabSize);
                summary = await DistributedJob.RunAsync(prepared, job, observer, _ => { }, loggers,
                    run => run.StopRule = report => rules.Check(trial.Index, report.ValLoss, chance), cancel, dashboard.Begin(trial.Index));
            }
            catch (Exception e) when (e is not OperationCanceledException && !cancel.IsCancellationRequested)
            {
                if (e is ArgumentException or ConfigException)
                {
                    // The trial's hyperparameters cannot run (e.g. a batch larger than the data): retrying will not help.
                    store.FinishTrial(trialId, TrialStatus.Failed, e.Message, null, null);
                    log($"trial {trial.Index}: failed: {e.Message}");
                    return;
                }
                summary = new RunSummary(double.NaN, double.NaN, 0, 0, 0, 0, Interrupted: true);
                log($"trial {trial.Index}: attempt {attempt + 1} failed: {e.Message}");
            }
            finally
            {
                dashboard.End(trial.Index);
            }
            if (cancel.IsCancellationRequested)
            {
                return;   // stays "running": a resumed sweep runs it again
            }
            if (!summary.Interrupted)
            {
                var status = summary.StoppedEarly is null ? TrialStatus.Completed : TrialStatus.StoppedEarly;
                store.FinishTrial(trialId, status, summary.StoppedEarly, double.IsFinite(summary.ValLoss) ? summary.ValLoss : null, directory);
                log($"trial {trial.Index}: {status}{(summary.StoppedEarly is { } why ? $" ({why})" : "")}, val loss {summary.ValLoss:F4}");
                return;
            }
            if (attempt >= spec.MaxRetries)
            {
                var reason = $"lost a worker in each of {attempt + 1} attempt(s); see {Path.Combine(directory, "logs")}";
                store.FinishTrial(trialId, TrialStatus.Failed, reason, null, null);
                log($"trial {trial.Index}: failed ({reason})");
                return;
            }
            log($"trial {trial.Index}: attempt {attempt + 1} lost a worker; retrying");
        }
    }

    private void PruneAllButBest(ExperimentStore store, IReadOnlyList<TrialRow> trials)
    {
        var best = trials.Where(t => t.BestValLoss is not null && t.Status != TrialStatus.Failed).MinBy(t => t.BestValLoss);
        foreach (var trial in trials.Where(t => t.CheckpointPath is not null && t.Id != best?.Id))
        {
            foreach (var file in new[] { CheckpointStore.ModelFile, CheckpointStore.OptimizerFile, TrainingJob.OnnxFile, CheckpointStore.ManifestFile })
            {
                File.Delete(Path.Combine(trial.CheckpointPath!, file));
            }
            store.SetCheckpoint(trial.Id, null);
        }
        if (best is not null)
        {
            log($"Kept the checkpoint of the best trial, {best.Index}, in {best.CheckpointPath}.");
        }
    }

    private static List<TrialResult> Results(ExperimentStore store, IReadOnlyList<TrialRow> trials) => trials.Select(t => new TrialResult(
        t.Index,
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(t.ParamsJson)!.ToDictionary(p => p.Key, p => Plain(p.Value)),
        t.Status, t.Reason, t.FinalValLoss, t.BestValLoss, t.Seconds ?? 0,
        store.Evaluations(t.Id).Select(e => new CurvePoint(e.Step, e.TrainLoss, e.ValLoss)).ToList())).ToList();

    private static object Plain(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number when value.TryGetInt64(out var whole) => whole,
        JsonValueKind.Number => value.GetDouble(),
        _ => value.ToString(),
    };

    /// <summary>Prints a trial's evaluations as log lines (several trials run at once).</summary>
    private sealed class TrialLog(int index, Action<string> log) : ITrainingObserver
    {
        public void OnStep(StepReport report) { }

        public void OnEvaluation(EvaluationReport report)
            => log($"trial {index}: step {report.Step} train loss {report.TrainLoss:F4} val loss {report.ValLoss:F4}");
    }

    /// <summary>Patience per trial and successive halving across trials.</summary>
    private sealed class StopRules(SweepSpec spec)
    {
        private readonly AshaRungs? _asha = spec.Asha is { } a ? new AshaRungs(a.ReductionFactor, a.MinEvaluations) : null;
        private readonly Dictionary<int, List<double>> _history = [];

        /// <summary>A new attempt of a trial starts its patience afresh.</summary>
        public void Forget(int trial)
        {
            lock (_history)
            {
                _history.Remove(trial);
            }
        }

        /// <param name="chance">ln(vocab_size): the loss of a uniform guess.</param>
        public string? Check(int trial, double valLoss, double chance)
        {
            if (!double.IsFinite(valLoss) || valLoss > 1.5 * chance)
            {
                return $"diverged: val loss {valLoss:F4} is far worse than a uniform guess (ln vocab = {chance:F4})";
            }
            List<double> losses;
            lock (_history)
            {
                losses = _history.TryGetValue(trial, out var list) ? list : _history[trial] = [];
                losses.Add(valLoss);
            }
            if (spec.Patience is { } patience && new EarlyStopping(patience).ShouldStop(losses))
            {
                return $"val loss has not improved for {patience} evaluations";
            }
            if (_asha?.ShouldStop(trial, losses.Count, valLoss) == true)
            {
                return $"successive halving: val loss {valLoss:F4} is in the worse part at evaluation {losses.Count}";
            }
            return null;
        }
    }
}

using System.Collections.Concurrent;
using Distributed.Coordinator.Distributed;
using Distributed.Models;
using Distributed.Models.Training;
using Distributed.Protocol;
using Distributed.Tests.Checkpoints;
using Distributed.Tests.Training;
using Microsoft.Extensions.Logging;

namespace Distributed.Tests.Coordinator;

/// <summary>A <see cref="DistributedRun"/> on a tiny model, driven directly as a transport would: no network, no processes.</summary>
internal sealed class RunHarness : IDisposable
{
    private readonly TempDirectory _directory = new();

    public RunHarness(int workers = 2, int minWorkers = 1, int batchSize = 4, int maxSteps = 4, int evalInterval = 2,
        TimeSpan? timeout = null, TimeSpan? stepTimeout = null, int gradAccumSteps = 1, int evalBatches = 0, IRunMetrics? metrics = null)
    {
        var config = new GptConfig
        {
            NumLayers = 1, NumHeads = 2, EmbeddingSize = 16, MaxSequenceLength = 8, BatchSize = batchSize, WarmupSteps = 1,
            MaxSteps = maxSteps, NumEpochs = 50, EvalInterval = evalInterval, Optimizer = OptimizerKind.Sgd, GradClip = 0,
            GradAccumSteps = gradAccumSteps, EvalBatches = evalBatches,
        };
        var prepared = TrainingJob.PrepareFresh(config, TestCorpus.Sentences(3_000), _directory.Path);
        Sampler = prepared.Sampler;
        Run = new DistributedRun(prepared.Config, prepared.Tokenizer, prepared.Sampler, new DistributedRunOptions
        {
            Workers = workers,
            MinWorkers = minWorkers,
            Timeout = timeout ?? TimeSpan.FromSeconds(30),
            StepTimeout = stepTimeout ?? TimeSpan.FromSeconds(60),
            OutputDirectory = _directory.Path,
        }, Log, metrics: metrics);
    }

    public DistributedRun Run { get; }

    public Models.Data.EpochSampler Sampler { get; }

    public int ValidationWindows => Sampler.ValidationWindows;

    public ListLogger Log { get; } = new();

    public string Directory => _directory.Path;

    public int Parameters => (int)Run.Replica.Layout.TotalLength;

    public WorkerSlot Join(string name)
    {
        var worker = Run.Join(name, "cpu", 1).Worker;
        _joined.Add(worker);
        return worker;
    }

    private readonly ConcurrentBag<WorkerSlot> _joined = [];

    // What each simulated worker was assigned and the links it opened: the step its replica would hold.
    private readonly ConcurrentDictionary<WorkerSlot, int> _assignedStep = new();
    private readonly ConcurrentDictionary<WorkerSlot, ConcurrentBag<RecordingLink>> _links = new();

    /// <summary>The optimizer steps a simulated worker's replica would hold: its assignment's first step, then each step closed to it.</summary>
    public long StateOf(WorkerSlot worker)
    {
        var closed = _links.TryGetValue(worker, out var links) ? links.SelectMany(l => l.Closed).Select(c => c.Step + 1).DefaultIfEmpty(-1).Max() : -1;
        return Math.Max(_assignedStep.TryGetValue(worker, out var first) ? first : -1, closed);
    }

    /// <summary>Asks for work as the worker's loop would, telling the run the step its replica holds; sends its state when asked to.</summary>
    public WorkAssignment Ask(WorkerSlot worker)
    {
        var next = Run.NextAssignment(worker, StateOf(worker));
        if (next.Kind == AssignmentKind.UploadState)
        {
            Upload(worker, next.FirstStep);
        }
        else if (next.Kind == AssignmentKind.Train)
        {
            _assignedStep[worker] = next.FirstStep;
        }
        return next;
    }

    /// <summary>
    /// Sends a simulated worker's state of <paramref name="step"/> steps, in chunks as the wire carries them. Its
    /// values are the coordinator's copy as it stands (these workers train nothing), times <paramref name="scale"/>.
    /// </summary>
    public void Upload(WorkerSlot worker, long step, float scale = 1f)
    {
        using var upload = Run.BeginStateUpload(worker, step);
        foreach (var (name, buffer) in Run.Replica.StateBuffers)
        {
            var values = buffer.Data.Select(v => v * scale).ToArray();
            foreach (var (offset, chunk, sha256) in Chunks.Of(Bytes(values)))
            {
                if (upload.Put(name, offset / sizeof(float), chunk.Span, values.Length, sha256) is { } problem)
                {
                    throw new InvalidOperationException(problem);
                }
            }
        }
        Run.CompleteStateUpload(worker, upload);
    }

    /// <summary>Stops the run as Ctrl+C would, while the live workers answer, as their loops would, until it is over (bounded).</summary>
    public RunSummary Interrupt(params WorkerSlot[] workers)
    {
        var stopping = Task.Run(Run.Interrupt);
        var giveUp = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!stopping.IsCompleted && DateTime.UtcNow < giveUp)
        {
            foreach (var worker in workers.Where(w => !w.Dropped))
            {
                Ask(worker);
            }
            Thread.Sleep(10);
        }
        return stopping.Wait(TimeSpan.FromSeconds(10)) ? stopping.Result : throw new TimeoutException($"The run did not stop within 20 s. Log:\n{Log}");
    }

    /// <summary>Asks for work for every worker, as their loops would, until each is handed a training assignment (bounded).</summary>
    public WorkAssignment[] Assigned(params WorkerSlot[] workers)
    {
        var assignments = new WorkAssignment?[workers.Length];
        var giveUp = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (assignments.Any(a => a is null))
        {
            if (DateTime.UtcNow > giveUp)
            {
                throw new TimeoutException($"No assignment within 10 s for {string.Join(", ", workers.Where((_, i) => assignments[i] is null))}. Log:\n{Log}");
            }
            for (var i = 0; i < workers.Length; i++)
            {
                if (assignments[i] is null && Ask(workers[i]) is { Kind: not (AssignmentKind.Wait or AssignmentKind.UploadState) } next)
                {
                    assignments[i] = next;
                }
            }
            Thread.Sleep(10);
        }
        return assignments!;
    }

    public (WorkAssignment, WorkAssignment) AssignedBoth(WorkerSlot first, WorkerSlot second)
        => Assigned(first, second) is [var a, var b] ? (a, b) : throw new InvalidOperationException();

    public RecordingLink Open(WorkerSlot worker, WorkAssignment assignment)
    {
        var link = new RecordingLink();
        Run.OpenStream(worker, assignment.Generation, Run.Fingerprint, link);
        _links.GetOrAdd(worker, _ => []).Add(link);
        return link;
    }

    /// <summary>Sends a whole gradient of <paramref name="value"/> everywhere, with <paramref name="loss"/>.</summary>
    public void SendGradient(WorkerSlot worker, WorkAssignment assignment, int step, float value, float loss = 1f)
    {
        var bytes = Bytes(Enumerable.Repeat(value, Parameters).ToArray());
        for (var bucket = 0; bucket < DistributedBuckets.Count(Parameters); bucket++)
        {
            var (start, length) = DistributedBuckets.Range(bucket, Parameters);
            Run.AcceptBucket(worker, worker.Link!, assignment.Generation, step, bucket, bytes.AsSpan(start * sizeof(float), length * sizeof(float)), loss);
        }
    }

    public static byte[] Bytes(float[] values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>Waits for a condition the run's loop or watch brings about (bounded).</summary>
    public void Until(Func<bool> condition, string what, double seconds = 10)
    {
        var giveUp = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > giveUp)
            {
                throw new TimeoutException($"Not {what} within {seconds} s. Log:\n{Log}");
            }
            Thread.Sleep(20);
        }
    }

    public void Dispose()
    {
        if (!Run.Completion.IsCompleted)
        {
            Interrupt([.. _joined]);
        }
        Run.Dispose();
        _directory.Dispose();
    }
}

/// <summary>A data-plane link that records what the run sends a member.</summary>
internal sealed class RecordingLink : IGradientLink
{
    private readonly ConcurrentQueue<StepClosed> _closed = new();

    public List<(int Step, int Bucket, float[] Values)> Reduced { get; } = [];

    public IReadOnlyCollection<StepClosed> Closed => _closed;

    public bool? EndedByMembershipChange { get; private set; }

    public string Transport => "recording";

    public void SendReduced(in ReducedBucketView reduced)
    {
        lock (Reduced)
        {
            Reduced.Add((reduced.Step, reduced.Bucket, reduced.Values.ToArray()));
        }
    }

    public void SendStepClosed(StepClosed closed) => _closed.Enqueue(closed);

    public void Close(bool membershipChanged) => EndedByMembershipChange ??= membershipChanged;
}

/// <summary>Keeps every log line, to assert on what the run tells its operator.</summary>
internal sealed class ListLogger : ILogger
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => _lines.Enqueue($"{logLevel}: {formatter(state, exception)}");

    public bool Contains(string text) => _lines.Any(l => l.Contains(text, StringComparison.Ordinal));

    public override string ToString() => string.Join('\n', _lines);
}

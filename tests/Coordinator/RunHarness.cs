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

    public WorkerSlot Join(string name) => Run.Join(name, "cpu", 1).Worker;

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
                if (assignments[i] is null && Run.NextAssignment(workers[i]) is { Kind: not AssignmentKind.Wait } next)
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
            Run.Interrupt();
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

using System.Threading.Channels;

namespace Distributed.Coordinator.Distributed;

/// <summary>
/// Writes a run's files (metrics.jsonl rows, checkpoints with their ONNX export) one at a time and in
/// order, on its own thread, from snapshots the run took under its lock: no request waits for a disk.
/// </summary>
public sealed class CheckpointWriter : IDisposable
{
    private readonly Channel<(Action Write, TaskCompletionSource Done)> _queue = Channel.CreateUnbounded<(Action, TaskCompletionSource)>(new() { SingleReader = true });
    private readonly ILogger _log;
    private readonly Task _worker;

    public CheckpointWriter(ILogger log)
    {
        _log = log;
        _worker = Task.Factory.StartNew(Drain, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Queues a write; the task completes when it is done, or has failed and been logged.</summary>
    public Task Enqueue(Action write)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((write, done)))
        {
            done.SetResult();   // disposed: the run is over
        }
        return done.Task;
    }

    private async Task Drain()
    {
        await foreach (var (write, done) in _queue.Reader.ReadAllAsync())
        {
            try
            {
                write();
            }
            catch (Exception e)
            {
                // A full disk, a lost mount: the run goes on (its last valid checkpoint stays on disk) and says so.
                _log.LogError("Writing the run's files failed: {Message}. Training goes on; the previous checkpoint stays valid.", e.Message);
            }
            finally
            {
                done.SetResult();
            }
        }
    }

    /// <summary>Finishes what is queued (bounded), then stops.</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        if (!_worker.Wait(TimeSpan.FromMinutes(5)))
        {
            _log.LogError("The run's files were still being written after 5 minutes; giving up on them.");
        }
    }
}

using System.Net.Http;
using Distributed.Protocol;
using Distributed.Protocol.V1;
using Grpc.Core;

namespace Distributed.Worker;

/// <summary>
/// The worker's connection to the coordinator (<see cref="CoordinatorConnection"/>) and a heartbeat
/// loop that watches it. When the coordinator has not answered for the timeout (or says this worker
/// was dropped), <see cref="Lost"/> fires so that no wait in the worker lasts forever.
/// </summary>
public sealed class CoordinatorLink : IDisposable
{
    private readonly CoordinatorConnection _connection;
    private readonly CancellationTokenSource _lost = new();
    private readonly Lock _losing = new();
    private readonly WorkerHealth _health;
    private readonly ILogger _log;

    private static readonly TimeSpan FirstRetryPause = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxRetryPause = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan RetryLogInterval = TimeSpan.FromSeconds(5);

    public CoordinatorLink(WorkerOptions options, WorkerHealth health, ILogger log)
    {
        (_health, _log, Timeout) = (health, log, options.Timeout);
        _connection = new CoordinatorConnection(options.Coordinator, options.Token, options.Tls, keepAliveTimeout: options.Timeout);
    }

    public Coordinator.CoordinatorClient Client => _connection.Client;

    public TimeSpan Timeout { get; private set; }

    /// <summary>Fires when the coordinator is gone or has dropped this worker.</summary>
    public CancellationToken Lost => _lost.Token;

    public string? LostReason { get; private set; }

    /// <summary>
    /// The coordinator went silent or was restarted (another run id, which does not know this worker), as
    /// opposed to dropping this worker: joining it again may carry on the run.
    /// </summary>
    public bool MayRejoin { get; private set; }

    /// <summary>A deadline for one ordinary call.</summary>
    public DateTime Deadline => DateTime.UtcNow + Timeout;

    /// <summary>
    /// Reads a server-streaming download to its end, failing (Cancelled) when no message arrives for the
    /// timeout. One deadline for the whole call would not do: a large model's state takes far longer than
    /// the timeout to arrive, yet must never stall that long.
    /// </summary>
    public async IAsyncEnumerable<T> Download<T>(Func<CancellationToken, AsyncServerStreamingCall<T>> start,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        idle.CancelAfter(Timeout);
        using var call = start(idle.Token);
        while (await call.ResponseStream.MoveNext(idle.Token))
        {
            idle.CancelAfter(Timeout);
            yield return call.ResponseStream.Current;
        }
    }

    /// <summary>
    /// Joins, retrying with a growing pause while the coordinator is not up (yet, or again after a restart),
    /// for at most <paramref name="patience"/> (the option <paramref name="patienceOption"/>); a coordinator
    /// that cannot be reached (or whose TLS handshake fails) is a <see cref="WorkerStartException"/>.
    /// </summary>
    public async Task<JoinReply> JoinAsync(JoinRequest request, TimeSpan patience, string patienceOption, CancellationToken cancel)
    {
        var giveUp = DateTime.UtcNow + patience;
        var pause = FirstRetryPause;
        var lastLogged = DateTime.MinValue;
        while (true)
        {
            try
            {
                var reply = await Client.JoinAsync(request, deadline: DateTime.UtcNow + TimeSpan.FromSeconds(5), cancellationToken: cancel);
                Timeout = TimeSpan.FromMilliseconds(reply.TimeoutMs);
                return reply;
            }
            catch (RpcException) when (cancel.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancel);   // a stop while joining (gRPC reports it as Cancelled), not a refusal
            }
            catch (RpcException e) when (_connection.IsTlsFailure(e))
            {
                // A certificate problem does not go away by trying again.
                throw new WorkerStartException($"could not connect to {_connection.Origin}: {_connection.Describe(e)}");
            }
            // A call that got no HTTP response at all is a connection problem, whatever status gRPC gives it.
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded || e.Status.DebugException is HttpRequestException)
            {
                if (DateTime.UtcNow >= giveUp)
                {
                    throw new WorkerStartException($"could not reach {_connection.Origin} ({_connection.Describe(e)}); is the coordinator running? " +
                                                   $"The worker tried for {patienceOption} {patience.TotalSeconds:0.#} s");
                }
                // One line every few seconds, however often it tries: a restart can take minutes.
                if (DateTime.UtcNow - lastLogged >= RetryLogInterval)
                {
                    _log.LogInformation("Coordinator not reachable yet ({Reason}); retrying for up to {Seconds:F0} s more",
                        _connection.Describe(e), Math.Max(0, (giveUp - DateTime.UtcNow).TotalSeconds));
                    lastLogged = DateTime.UtcNow;
                }
                await Task.Delay(pause, cancel);
                pause = TimeSpan.FromTicks(Math.Min(2 * pause.Ticks, MaxRetryPause.Ticks));
            }
        }
    }

    /// <summary>Beats until cancelled; fires <see cref="Lost"/> after the timeout without an answer, or when the coordinator does not know this worker.</summary>
    public async Task HeartbeatAsync(JoinReply join, TimeSpan interval, CancellationToken cancel)
    {
        var lastAnswer = DateTime.UtcNow;
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                var reply = await Client.HeartbeatAsync(new HeartbeatRequest { WorkerId = join.WorkerId },
                    deadline: DateTime.UtcNow + TimeSpan.FromSeconds(Math.Max(2, interval.TotalSeconds * 2)), cancellationToken: cancel);
                lastAnswer = DateTime.UtcNow;
                if (!reply.Known)
                {
                    // An empty run id is a coordinator from before run ids: it cannot say it was restarted.
                    if (reply.RunId.Length > 0 && reply.RunId != join.RunId)
                    {
                        Lose($"the coordinator at {_connection.Origin} was restarted (it now runs {reply.RunId}, this worker joined {join.RunId})", mayRejoin: true);
                    }
                    else
                    {
                        Lose("the coordinator dropped this worker", mayRejoin: false);
                    }
                    return;
                }
            }
            catch (RpcException e) when (!cancel.IsCancellationRequested)
            {
                _health.NotServing($"coordinator unreachable: {e.Status.Detail}");
                var silent = DateTime.UtcNow - lastAnswer;
                _log.LogWarning("Heartbeat failed ({Status}); coordinator silent for {Seconds:F1} s", e.StatusCode, silent.TotalSeconds);
                if (silent > Timeout)
                {
                    Lose($"the coordinator at {_connection.Origin} has not answered for {silent.TotalSeconds:F0} s (timeout {Timeout.TotalSeconds:F0} s)", mayRejoin: true);
                    return;
                }
            }
            try
            {
                await Task.Delay(interval, cancel);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>A call was refused because this coordinator does not know the worker's id: it was restarted since the join.</summary>
    public void Forgotten() => Lose($"the coordinator at {_connection.Origin} no longer knows this worker (it was restarted)", mayRejoin: true);

    private void Lose(string reason, bool mayRejoin)
    {
        lock (_losing)
        {
            if (_lost.IsCancellationRequested)
            {
                return;   // the first reason stands (the heartbeat and a refused call may both notice)
            }
            (LostReason, MayRejoin) = (reason, mayRejoin);
            _health.NotServing(reason);
            _lost.Cancel();
        }
    }

    public void Dispose()
    {
        _lost.Dispose();
        _connection.Dispose();
    }
}

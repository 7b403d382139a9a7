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
    private readonly WorkerHealth _health;
    private readonly ILogger _log;

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
    /// Joins, retrying while the coordinator is not up yet, for at most the timeout; a coordinator
    /// that cannot be reached (or whose TLS handshake fails) is a <see cref="WorkerStartException"/>.
    /// </summary>
    public async Task<JoinReply> JoinAsync(JoinRequest request, CancellationToken cancel)
    {
        var giveUp = DateTime.UtcNow + Timeout;
        while (true)
        {
            try
            {
                var reply = await Client.JoinAsync(request, deadline: DateTime.UtcNow + TimeSpan.FromSeconds(5), cancellationToken: cancel);
                Timeout = TimeSpan.FromMilliseconds(reply.TimeoutMs);
                return reply;
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
                                                   $"The worker tried for --timeout {Timeout.TotalSeconds:0.#} s");
                }
                _log.LogInformation("Coordinator not reachable yet ({Reason}); retrying", _connection.Describe(e));
                await Task.Delay(500, cancel);
            }
        }
    }

    /// <summary>Beats until cancelled; fires <see cref="Lost"/> after the timeout without an answer.</summary>
    public async Task HeartbeatAsync(string workerId, TimeSpan interval, CancellationToken cancel)
    {
        var lastAnswer = DateTime.UtcNow;
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                var reply = await Client.HeartbeatAsync(new HeartbeatRequest { WorkerId = workerId },
                    deadline: DateTime.UtcNow + TimeSpan.FromSeconds(Math.Max(2, interval.TotalSeconds * 2)), cancellationToken: cancel);
                lastAnswer = DateTime.UtcNow;
                if (!reply.Known)
                {
                    Lose("the coordinator dropped this worker");
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
                    Lose($"the coordinator at {_connection.Origin} has not answered for {silent.TotalSeconds:F0} s (timeout {Timeout.TotalSeconds:F0} s)");
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

    private void Lose(string reason)
    {
        LostReason = reason;
        _health.NotServing(reason);
        _lost.Cancel();
    }

    public void Dispose()
    {
        _lost.Dispose();
        _connection.Dispose();
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Distributed.Protocol;
using Distributed.Protocol.V1;

namespace Distributed.Coordinator.Distributed;

/// <summary>
/// The raw TCP data plane for workers on other hosts (gRPC reaches a few percent of what a plain socket
/// does here): a listener on the coordinator's address at --data-port. Join gives each worker that asks
/// a random ticket; its AllReduce stream opens with a message that says tcp, and its connection's hello
/// (<see cref="TcpFrames"/>) names the worker, the stream's generation and the ticket. The two meet here
/// (<see cref="ConnectionAsync"/>) in whichever order they come. A hello that is malformed, late or
/// carries a wrong ticket gets its socket closed and a warning; nothing a stranger sends throws on the
/// accept loop. Cleartext only: the host does not offer it under TLS.
/// </summary>
public sealed class TcpDataPlane : IDisposable
{
    /// <summary>Hellos being read at once: more connections than this are closed at once.</summary>
    private const int MaxHandshakes = 64;

    private readonly TcpListener? _listener;   // null: turned off
    private readonly TimeSpan _timeout;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, (WorkerSlot Worker, byte[] Ticket)> _tickets = new();
    private readonly ConcurrentDictionary<(string Worker, long Generation), TaskCompletionSource<TcpDataConnection>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private int _handshakes;

    private TcpDataPlane(TcpListener? listener, TimeSpan timeout, ILogger log)
    {
        (_listener, _timeout, _log) = (listener, timeout, log);
        if (listener is not null)
        {
            _ = AcceptLoopAsync(listener);
        }
    }

    /// <summary>Listens on <paramref name="address"/>:<paramref name="port"/> (0: any free port) when <paramref name="enabled"/>; <paramref name="timeout"/> bounds each hello and each rendezvous.</summary>
    public static TcpDataPlane Create(IPAddress address, int port, bool enabled, TimeSpan timeout, ILogger log)
    {
        if (!enabled)
        {
            return new TcpDataPlane(null, timeout, log);
        }
        var listener = new TcpListener(address, port);
        try
        {
            listener.Start();
        }
        catch (SocketException e)
        {
            throw new IOException($"--data-port {port}: cannot listen on {address}:{port} ({e.Message}); pick a free port or 0 for any.", e);
        }
        return new TcpDataPlane(listener, timeout, log);
    }

    /// <summary>The port it listens on; 0 when turned off.</summary>
    public int Port => _listener is null ? 0 : ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>A new ticket for <paramref name="worker"/> when it asked and the plane is on; null otherwise.</summary>
    public TcpDataPlaneOffer? Offer(WorkerSlot worker, bool asked)
    {
        if (_listener is null || !asked)
        {
            return null;
        }
        foreach (var (id, _) in _tickets.Where(t => t.Value.Worker.Dropped).ToList())
        {
            _tickets.TryRemove(id, out _);   // a dropped worker's hellos are refused from now on
        }
        var ticket = RandomNumberGenerator.GetBytes(TcpFrames.TicketBytes);
        _tickets[worker.Id] = (worker, ticket);
        return new TcpDataPlaneOffer { Port = Port, Ticket = Google.Protobuf.ByteString.CopyFrom(ticket) };
    }

    /// <summary>
    /// The connection <paramref name="worker"/> opened for its stream of <paramref name="generation"/>;
    /// a <see cref="TimeoutException"/> when none comes within the timeout.
    /// </summary>
    public async Task<TcpDataConnection> ConnectionAsync(WorkerSlot worker, long generation, CancellationToken cancel)
    {
        if (_listener is null || !_tickets.ContainsKey(worker.Id))
        {
            throw new Refusal(RefusalKind.InvalidData, $"{worker} opened a tcp all-reduce stream, but was offered no tcp data plane; send the values in data.").ToException();
        }
        var key = (worker.Id, generation);
        var arrival = _pending.GetOrAdd(key, _ => NewArrival());
        try
        {
            var connection = await arrival.Task.WaitAsync(_timeout, cancel);
            return connection.TryClaim() ? connection : throw new TimeoutException();
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{worker} opened a tcp all-reduce stream but no data connection came within {_timeout.TotalSeconds:F0} s (a firewall in front of port {Port}?)");
        }
        finally
        {
            _pending.TryRemove(KeyValuePair.Create(key, arrival));
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener?.Stop();
        foreach (var pending in _pending.Values)
        {
            if (pending.Task.IsCompletedSuccessfully && pending.Task.Result.TryClaim())
            {
                pending.Task.Result.Dispose();
            }
        }
    }

    private static TaskCompletionSource<TcpDataConnection> NewArrival() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task AcceptLoopAsync(TcpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || _stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                _log.LogWarning("The tcp data plane could not accept a connection: {Error}", e.Message);
                continue;
            }
            if (Interlocked.Increment(ref _handshakes) > MaxHandshakes)
            {
                Interlocked.Decrement(ref _handshakes);
                _log.LogWarning("Closed a tcp data connection from {Remote}: {Max} hellos are already being read", socket.RemoteEndPoint, MaxHandshakes);
                socket.Dispose();
                continue;
            }
            _ = HandshakeAsync(socket);
        }
    }

    /// <summary>Reads a hello; a good one is answered and handed to its stream, anything else closes the socket. Never throws.</summary>
    private async Task HandshakeAsync(Socket socket)
    {
        var remote = "?";
        NetworkStream? stream = null;
        TcpDataConnection? connection = null;
        TaskCompletionSource<TcpDataConnection>? arrival = null;
        (string, long) key = default;
        try
        {
            remote = socket.RemoteEndPoint?.ToString() ?? remote;
            socket.NoDelay = true;
            stream = new NetworkStream(socket, ownsSocket: true);
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
            {
                wait.CancelAfter(_timeout);
                var fixedPart = new byte[TcpFrames.HelloFixedBytes];
                await stream.ReadExactlyAsync(fixedPart, wait.Token);
                if (TcpFrames.ReadHello(fixedPart) is not var (ticket, generation, idBytes))
                {
                    throw new InvalidDataException("it sent no hello");
                }
                var id = new byte[idBytes];
                await stream.ReadExactlyAsync(id, wait.Token);
                var workerId = Encoding.UTF8.GetString(id);
                if (!_tickets.TryGetValue(workerId, out var expected) || expected.Worker.Dropped || !CryptographicOperations.FixedTimeEquals(expected.Ticket, ticket))
                {
                    throw new InvalidDataException($"a wrong ticket for worker '{Membership.Shorten(workerId)}'");
                }
                await stream.WriteAsync(new[] { TcpFrames.Accepted }, wait.Token);
                key = (workerId, generation);
            }
            connection = new TcpDataConnection(stream, remote);
            arrival = _pending.GetOrAdd(key, _ => NewArrival());
            if (!arrival.TrySetResult(connection))
            {
                throw new InvalidDataException($"a second connection for worker '{Membership.Shorten(key.Item1)}' in generation {key.Item2}");
            }
        }
        catch (Exception e)
        {
            var why = e is OperationCanceledException ? $"no hello within {_timeout.TotalSeconds:F0} s" : e.Message;
            if (!_stop.IsCancellationRequested)
            {
                _log.LogWarning("Closed a tcp data connection from {Remote}: {Why}", remote, why);
            }
            if (stream is null)
            {
                socket.Dispose();
            }
            else
            {
                stream.Dispose();
            }
            return;
        }
        finally
        {
            Interlocked.Decrement(ref _handshakes);
        }
        // A connection whose stream never came for it is closed after the timeout.
        try
        {
            await Task.Delay(_timeout, _stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
        if (_pending.TryRemove(KeyValuePair.Create(key, arrival)) && connection.TryClaim())
        {
            _log.LogWarning("Closed the tcp data connection of worker '{Worker}': its all-reduce stream never came", Membership.Shorten(key.Item1));
            connection.Dispose();
        }
    }
}

/// <summary>A data connection that passed its hello; claimed once, by its stream or by the clean-up.</summary>
public sealed class TcpDataConnection(NetworkStream stream, string remote) : IDisposable
{
    private int _claimed;

    public NetworkStream Stream => stream;

    public string Remote => remote;

    public bool TryClaim() => Interlocked.Exchange(ref _claimed, 1) == 0;

    public void Dispose() => stream.Dispose();
}

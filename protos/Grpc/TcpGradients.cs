using System.Net.Sockets;
using Distributed.Models.Gpt;
using Distributed.Protocol.V1;

namespace Distributed.Protocol;

/// <summary>
/// The gradient over the coordinator's raw TCP data plane (<see cref="TcpFrames"/>): the AllReduce
/// stream carries only its opening and the step closings; each stream gets its own connection
/// (<see cref="ConnectAsync"/>) that carries the values both ways, float32, with no copies. Cleartext:
/// the coordinator offers it only when it serves without TLS.
/// </summary>
/// <param name="host">The coordinator's host, as in the worker's --coordinator address.</param>
/// <param name="timeout">For connecting and the coordinator's answer to the hello.</param>
public sealed class TcpGradients(TcpDataPlaneOffer offer, string host, TimeSpan timeout) : GradientWire
{
    public override string Name => "tcp";

    /// <summary>None: the values go on the connection.</summary>
    public override IEnumerable<GradientBucket> Messages(float[] gradient) => [];

    public override void Receive(ReducedBucket bucket, float[] gradient)
        => throw new InvalidDataException("The coordinator sent a reduced bucket on a tcp stream.");

    public override void Closed(float[] gradient)
    {
    }

    /// <summary>Connects, says hello and waits for the coordinator to accept; an IOException when it does not.</summary>
    public async Task<TcpGradientConnection> ConnectAsync(string workerId, long generation, CancellationToken cancel)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        wait.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(host, offer.Port, wait.Token);
            var stream = new NetworkStream(socket, ownsSocket: true);
            await stream.WriteAsync(TcpFrames.Hello(offer.Ticket.Span, generation, workerId), wait.Token);
            var answer = new byte[1];
            if (await stream.ReadAsync(answer, wait.Token) != 1 || answer[0] != TcpFrames.Accepted)
            {
                throw new IOException($"the coordinator refused this worker's tcp data connection to {host}:{offer.Port}");
            }
            return new TcpGradientConnection(stream);
        }
        catch (Exception e)
        {
            socket.Dispose();
            if (e is OperationCanceledException && !cancel.IsCancellationRequested)
            {
                throw new IOException($"no tcp data connection to {host}:{offer.Port} within {timeout.TotalSeconds:F0} s (a firewall? try --transport grpc)");
            }
            if (e is SocketException socketError)
            {
                throw new IOException($"cannot connect to the coordinator's tcp data plane at {host}:{offer.Port}: {socketError.Message} (a firewall? try --transport grpc)", e);
            }
            throw;
        }
    }
}

/// <summary>One AllReduce stream's TCP connection: per step, the worker's frame out and the averaged gradient back.</summary>
public sealed class TcpGradientConnection(NetworkStream stream) : IDisposable
{
    private readonly byte[] _header = new byte[TcpFrames.StepHeaderBytes];

    /// <summary>
    /// Sends <paramref name="gradient"/> as step <paramref name="step"/>'s frame and reads the averaged
    /// gradient back into it (bucket k comes back only after the coordinator has every rank's bucket k,
    /// so it never overwrites values still to be sent). Throws an IOException when the connection breaks.
    /// </summary>
    public async Task ExchangeAsync(int step, float loss, float[] gradient, CancellationToken cancel)
    {
        var receiving = stream.ReadExactlyAsync(new FloatBytes(gradient).Memory, cancel).AsTask();
        try
        {
            TcpFrames.WriteStepHeader(_header, step, loss, 0, DistributedBuckets.Count(gradient.Length));
            await stream.WriteAsync(_header, cancel);
            await stream.WriteAsync(new FloatBytes(gradient).Memory, cancel);
        }
        catch
        {
            stream.Dispose();   // ends the read too
            _ = receiving.ContinueWith(t => t.Exception, TaskScheduler.Default);
            throw;
        }
        await receiving;
    }

    /// <summary>After the last step: the coordinator reads the end of the stream at a frame boundary, a clean end.</summary>
    public void Finish() => stream.Socket.Shutdown(SocketShutdown.Send);

    public void Dispose() => stream.Dispose();
}

using System.Net;
using System.Net.Sockets;
using Distributed.Coordinator.Distributed;
using Distributed.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace Distributed.Tests.Coordinator;

public class TcpDataPlaneTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private static async Task<NetworkStream> Connect(TcpDataPlane plane, byte[] hello)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, plane.Port);
        var stream = new NetworkStream(socket, ownsSocket: true);
        await stream.WriteAsync(hello);
        return stream;
    }

    /// <summary>What the coordinator answers a hello: the accept byte, or -1 when it closed the socket.</summary>
    private static async Task<int> Answer(NetworkStream stream)
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var answer = new byte[1];
        return await stream.ReadAsync(answer, wait.Token) == 1 ? answer[0] : -1;
    }

    [Fact]
    public async Task A_hello_with_the_workers_ticket_reaches_its_stream_and_a_wrong_ticket_is_closed_and_admits_nobody()
    {
        using var plane = TcpDataPlane.Create(IPAddress.Loopback, 0, enabled: true, Timeout, NullLogger.Instance);
        var (good, bad) = (new WorkerSlot("good-worker", "a", "cpu", 0, 0), new WorkerSlot("bad-worker", "b", "cpu", 0, 1));
        var goodOffer = plane.Offer(good, asked: true)!;
        var badOffer = plane.Offer(bad, asked: true)!;

        // The ticket of another worker is as wrong as a random one.
        using var impostor = await Connect(plane, TcpFrames.Hello(goodOffer.Ticket.Span, 1, bad.Id));
        Assert.Equal(-1, await Answer(impostor));
        await Assert.ThrowsAsync<TimeoutException>(() => plane.ConnectionAsync(bad, 1, CancellationToken.None));

        // The right one, sent before the stream asks for it (either order meets).
        using var honest = await Connect(plane, TcpFrames.Hello(goodOffer.Ticket.Span, 1, good.Id));
        Assert.Equal(TcpFrames.Accepted, await Answer(honest));
        using var connection = await plane.ConnectionAsync(good, 1, CancellationToken.None);
        Assert.NotNull(connection.Stream);
        Assert.NotEqual(goodOffer.Ticket, badOffer.Ticket);
    }

    [Fact]
    public async Task Bytes_that_are_no_hello_close_the_socket_and_the_plane_keeps_accepting()
    {
        using var plane = TcpDataPlane.Create(IPAddress.Loopback, 0, enabled: true, Timeout, NullLogger.Instance);
        var worker = new WorkerSlot("w", "a", "cpu", 0, 0);
        var offer = plane.Offer(worker, asked: true)!;
        using var garbage = await Connect(plane, "GET / HTTP/1.1\r\nHost: x\r\n\r\n0123456789012345678901234"u8.ToArray());
        Assert.Equal(-1, await Answer(garbage));
        using var worker2 = await Connect(plane, TcpFrames.Hello(offer.Ticket.Span, 3, worker.Id));
        Assert.Equal(TcpFrames.Accepted, await Answer(worker2));
    }

    [Fact]
    public void Nothing_is_offered_when_turned_off_or_not_asked()
    {
        using var off = TcpDataPlane.Create(IPAddress.Loopback, 0, enabled: false, Timeout, NullLogger.Instance);
        using var on = TcpDataPlane.Create(IPAddress.Loopback, 0, enabled: true, Timeout, NullLogger.Instance);
        var worker = new WorkerSlot("w", "a", "cpu", 0, 0);
        Assert.Null(off.Offer(worker, asked: true));
        Assert.Null(on.Offer(worker, asked: false));
    }

    [Theory]
    [InlineData(0, 3, null)]
    [InlineData(2, 1, null)]
    [InlineData(0, 4, "outside")]
    [InlineData(-1, 2, "outside")]
    [InlineData(3, 1, "outside")]
    [InlineData(1, 0, "outside")]
    [InlineData(1, int.MaxValue, "outside")]
    public void A_frame_is_checked_against_the_model_size_before_it_is_read(int first, int count, string? problem)
    {
        const int elements = 2 * DistributedBuckets.Elements + 1_000;   // three buckets, the last one short
        var range = TcpFrames.FrameRange(first, count, elements);
        if (problem is null)
        {
            Assert.Null(range.Problem);
            Assert.Equal(first * DistributedBuckets.Elements, range.Start);
            Assert.Equal(Math.Min(elements, (first + count) * DistributedBuckets.Elements) - range.Start, range.Length);
        }
        else
        {
            Assert.Contains(problem, range.Problem);
        }
    }

    [Fact]
    public void A_hello_with_an_oversized_worker_id_is_no_hello()
    {
        var hello = TcpFrames.Hello(new byte[TcpFrames.TicketBytes], 7, new string('x', TcpFrames.MaxWorkerIdBytes + 1));
        Assert.Null(TcpFrames.ReadHello(hello.AsSpan(0, TcpFrames.HelloFixedBytes)));
        Assert.Equal(7, TcpFrames.ReadHello(TcpFrames.Hello(new byte[TcpFrames.TicketBytes], 7, "w").AsSpan(0, TcpFrames.HelloFixedBytes))!.Value.Generation);
    }
}

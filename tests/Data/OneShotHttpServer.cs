using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Distributed.Tests.Data;

/// <summary>
/// Serves one fixed body to one HTTP request on a free loopback port, so download code can be tested
/// without the internet. Raw TCP rather than HttpListener: a listener bound to port 0 cannot race another process for its port.
/// </summary>
internal sealed class OneShotHttpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Task _serving;

    public OneShotHttpServer(byte[] body)
    {
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/corpus.txt");
        _serving = ServeAsync(body);
    }

    public Uri Url { get; }

    private async Task ServeAsync(byte[] body)
    {
        using var client = await _listener.AcceptTcpClientAsync();
        using var stream = client.GetStream();
        await ReadRequestHeadAsync(stream);
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(head);
        await stream.WriteAsync(body);
    }

    private static async Task ReadRequestHeadAsync(NetworkStream stream)
    {
        var received = new List<byte>();
        var buffer = new byte[1024];
        while (!Encoding.ASCII.GetString([.. received]).Contains("\r\n\r\n"))
        {
            var count = await stream.ReadAsync(buffer);
            if (count == 0)
            {
                return;
            }
            received.AddRange(buffer.AsSpan(0, count));
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        // Stopping the listener ends a pending accept with an exception, which is expected here.
        _serving.ContinueWith(_ => { }).Wait(TimeSpan.FromSeconds(5));
    }
}

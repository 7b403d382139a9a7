using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Distributed.Protocol;
using Google.Protobuf;

namespace Distributed.Tests.Cluster;

/// <summary>
/// gRPC requests made by hand over HTTP/2, to send what a gRPC client never would: a path spelled
/// differently, a body that never ends.
/// </summary>
internal static class RawGrpc
{
    public static HttpClient Client() => new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>A POST to exactly <paramref name="path"/> (no canonicalization), with the run token if given.</summary>
    public static HttpRequestMessage Request(int port, string path, HttpContent body, string? token)
    {
        var uri = new Uri($"http://127.0.0.1:{port}{path}", new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact, Content = body,
        };
        request.Headers.TE.ParseAdd("trailers");
        body.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        if (token is not null)
        {
            request.Headers.Add(RunToken.Header, token);
        }
        return request;
    }

    /// <summary>One length-prefixed gRPC message.</summary>
    public static byte[] Frame(IMessage message)
    {
        var bytes = message.ToByteArray();
        var frame = new byte[5 + bytes.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)bytes.Length);
        bytes.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>The call's grpc-status: in the headers of a trailers-only response, else in the trailers (read the body first).</summary>
    public static string? Status(HttpResponseMessage response)
        => response.Headers.TryGetValues("grpc-status", out var values) || response.TrailingHeaders.TryGetValues("grpc-status", out values)
            ? values.Single()
            : null;

    /// <summary>
    /// A request body that sends a frame header announcing <paramref name="announced"/> bytes, then part
    /// of them, then never finishes: any response to it came before its body was read.
    /// </summary>
    public sealed class EndlessBody(int announced) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancel)
        {
            var header = new byte[5];
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), (uint)announced);
            await stream.WriteAsync(header, cancel);
            await stream.WriteAsync(new byte[64 << 10], cancel);
            await stream.FlushAsync(cancel);
            await Task.Delay(Timeout.Infinite, cancel);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Distributed.Coordinator.Distributed;

/// <summary>Turns the run's refusals into gRPC statuses (the service adds only the stream's own: an idle timeout, a generation ended under it).</summary>
public sealed class RefusalInterceptor : Interceptor
{
    public static StatusCode StatusOf(RefusalKind kind) => kind switch
    {
        RefusalKind.Unauthenticated => StatusCode.Unauthenticated,
        RefusalKind.PermissionDenied => StatusCode.PermissionDenied,
        RefusalKind.UnknownWorker => StatusCode.NotFound,
        RefusalKind.Stale => StatusCode.Aborted,
        RefusalKind.InvalidData => StatusCode.InvalidArgument,
        RefusalKind.Full => StatusCode.ResourceExhausted,
        RefusalKind.Busy => StatusCode.Unavailable,   // workers retry Unavailable until their timeout
        RefusalKind.Incompatible or RefusalKind.NotExpected or RefusalKind.RunOver => StatusCode.FailedPrecondition,
        _ => StatusCode.Internal,
    };

    public static RpcException ToRpc(RunRefusedException e) => new(new Status(StatusOf(e.Refusal.Kind), e.Refusal.Message));

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (RunRefusedException e)
        {
            throw ToRpc(e);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (RunRefusedException e)
        {
            throw ToRpc(e);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (RunRefusedException e)
        {
            throw ToRpc(e);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (RunRefusedException e)
        {
            throw ToRpc(e);
        }
    }
}

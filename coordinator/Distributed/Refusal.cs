namespace Distributed.Coordinator.Distributed;

/// <summary>Why the run turned a request down. The gRPC service maps each kind to a status code; the run never speaks gRPC.</summary>
public enum RefusalKind
{
    /// <summary>No credential, or not this worker's: the caller must join.</summary>
    Unauthenticated,

    /// <summary>The caller names another worker than the one its credential proves.</summary>
    PermissionDenied,

    /// <summary>The worker id is not (or no longer) known: join again.</summary>
    UnknownWorker,

    /// <summary>The generation or assignment the request belongs to is over: ask for a new assignment.</summary>
    Stale,

    /// <summary>Malformed or non-finite data (the run drops the sender).</summary>
    InvalidData,

    /// <summary>A different model or protocol: run the same release everywhere.</summary>
    Incompatible,

    /// <summary>Nothing of the kind is expected from this worker now.</summary>
    NotExpected,

    /// <summary>A bounded resource is full for good (the roster): start no more workers.</summary>
    Full,

    /// <summary>A bounded resource is busy for now (concurrent state downloads): try again shortly.</summary>
    Busy,

    /// <summary>The run is over.</summary>
    RunOver,
}

/// <summary>A request the run turned down, and the one-line reason the caller is told.</summary>
public sealed record Refusal(RefusalKind Kind, string Message)
{
    public RunRefusedException ToException() => new(this);
}

/// <summary>Carries a <see cref="Refusal"/> from the run to the service that maps it onto the wire.</summary>
public sealed class RunRefusedException(Refusal refusal) : Exception(refusal.Message)
{
    public Refusal Refusal { get; } = refusal;
}

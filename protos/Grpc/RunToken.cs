namespace Distributed.Protocol;

/// <summary>The shared secret every call of a run carries, so strangers cannot join or feed gradients.</summary>
public static class RunToken
{
    /// <summary>gRPC metadata key of the token.</summary>
    public const string Header = "x-run-token";

    /// <summary>gRPC metadata key of the secret Join hands one worker (JoinReply.worker_secret), required on its every later call.</summary>
    public const string WorkerSecretHeader = "x-worker-secret";

    /// <summary>Where --token falls back to (keeps the secret off the command line and out of `ps`).</summary>
    public const string EnvironmentVariable = "DISTRIBUTED_TOKEN";
}

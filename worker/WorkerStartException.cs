namespace Distributed.Worker;

/// <summary>The worker cannot start (its health port is taken, the coordinator cannot be reached): a one-line reason and its fix, exit code 2.</summary>
public sealed class WorkerStartException(string message) : Exception(message);

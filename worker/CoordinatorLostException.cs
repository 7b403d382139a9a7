namespace Distributed.Worker;

/// <summary>The coordinator stopped answering for longer than the timeout, or dropped this worker.</summary>
public sealed class CoordinatorLostException(string message) : Exception(message);

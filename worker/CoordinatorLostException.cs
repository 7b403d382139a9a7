namespace Distributed.Worker;

/// <summary>The coordinator stopped answering for longer than the timeout, was restarted, or dropped this worker.</summary>
/// <param name="mayRejoin">The coordinator went silent or was restarted (not: it dropped this worker), so joining it again may carry on the run.</param>
public sealed class CoordinatorLostException(string message, bool mayRejoin) : Exception(message)
{
    public bool MayRejoin { get; } = mayRejoin;
}

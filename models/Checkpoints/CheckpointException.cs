namespace Distributed.Models.Checkpoints;

/// <summary>A checkpoint that cannot be saved or trusted on load; the message names the file and what is wrong.</summary>
public sealed class CheckpointException : Exception
{
    public CheckpointException(string message)
        : base(message) { }

    public CheckpointException(string message, Exception inner)
        : base(message, inner) { }
}

namespace Distributed.Coordinator.Distributed;

/// <summary>Where a distributed run stands.</summary>
public enum RunPhase
{
    /// <summary>Waiting for the requested number of workers to join.</summary>
    WaitingForWorkers,

    /// <summary>Workers train the current epoch, all-reducing every step.</summary>
    Training,

    /// <summary>An evaluation step (every eval_interval steps, and the last) was reached; waiting for every share of the validation.</summary>
    Validating,

    /// <summary>Finished, or failed (too few workers left).</summary>
    Done,
}

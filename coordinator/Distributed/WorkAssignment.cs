namespace Distributed.Coordinator.Distributed;

/// <summary>What a worker is handed when it joins: its identity and everything it needs to build the run's model.</summary>
public sealed record JoinGrant(WorkerSlot Worker, string RunId, string ConfigJson, string TokenizerJson, string Fingerprint,
    TimeSpan HeartbeatInterval, TimeSpan Timeout, int Workers);

public enum AssignmentKind
{
    /// <summary>Train the steps of the assignment with the shard of its generation.</summary>
    Train,

    /// <summary>Not yet: ask again after <see cref="WorkAssignment.RetryAfter"/>.</summary>
    Wait,

    /// <summary>The run is over for this worker: leave.</summary>
    Stop,

    /// <summary>Send the coordinator this worker's state (of <see cref="WorkAssignment.FirstStep"/> steps), then ask again.</summary>
    UploadState,
}

/// <summary>Where a worker stands in the run: what to do next.</summary>
public sealed record WorkAssignment(AssignmentKind Kind)
{
    public long Generation { get; init; }

    public int Rank { get; init; }

    public int WorldSize { get; init; }

    public int Epoch { get; init; }

    /// <summary>The optimizer step the assignment starts at; the worker's state must be that step's.</summary>
    public int FirstStep { get; init; }

    public int Steps { get; init; }

    /// <summary>This worker's sequences per step, of <see cref="GlobalBatchSize"/>.</summary>
    public int BatchSize { get; init; }

    public int GlobalBatchSize { get; init; }

    /// <summary>The state is the seed's initialisation, which the worker builds itself (a fresh run that has taken no step).</summary>
    public bool InitialState { get; init; }

    /// <summary>Score the validation shard after the last step and report it.</summary>
    public bool ValidateAtEnd { get; init; }

    public TimeSpan RetryAfter { get; init; }

    public string Reason { get; init; } = "";

    public static WorkAssignment Stop(string reason) => new(AssignmentKind.Stop) { Reason = reason };

    public static WorkAssignment Wait(TimeSpan retryAfter) => new(AssignmentKind.Wait) { RetryAfter = retryAfter };

    public static WorkAssignment Upload(int step) => new(AssignmentKind.UploadState) { FirstStep = step };
}

/// <summary>A copy of the coordinator's state for one download, holding one of the bounded download slots until disposed.</summary>
public sealed class StateDownload(long step, IReadOnlyList<(string Name, float[] Data)> tensors, Action release) : IDisposable
{
    private Action? _release = release;

    /// <summary>Optimizer steps the state reflects.</summary>
    public long Step { get; } = step;

    public IReadOnlyList<(string Name, float[] Data)> Tensors { get; } = tensors;

    public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();
}

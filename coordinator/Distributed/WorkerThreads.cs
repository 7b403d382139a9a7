namespace Distributed.Coordinator.Distributed;

/// <summary>How the cores are shared among worker processes on this machine (`train --workers N`, `sweep`).</summary>
public static class WorkerThreads
{
    /// <summary>ONNX Runtime threads each of <paramref name="workers"/> local workers gets: <paramref name="requested"/>, or (0) the cores divided among them, at least 1.</summary>
    public static int Each(int workers, int requested, int cores)
        => requested > 0 ? requested : Math.Max(1, cores / Math.Max(1, workers));

    /// <summary>A one-line warning when the workers' threads add up to more than the cores (they would take turns on them and train slower); else null.</summary>
    public static string? Oversubscription(int workers, int threadsEach, int cores)
    {
        var total = (long)workers * threadsEach;
        if (total <= cores)
        {
            return null;
        }
        var fix = workers > cores
            ? $"use --workers {Math.Max(1, cores / threadsEach)} or fewer"
            : $"use --threads {cores / workers} or fewer (or leave --threads out: the cores are then shared among the workers)";
        return $"{workers} workers x {threadsEach} thread{(threadsEach == 1 ? "" : "s")} each = {total} threads on {cores} core{(cores == 1 ? "" : "s")}: " +
               $"they will take turns on the cores and train slower; {fix}.";
    }
}

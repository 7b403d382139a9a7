using System.Runtime.InteropServices;

namespace Distributed.Protocol;

/// <summary>
/// SIGINT (Ctrl+C) and SIGTERM (what Kubernetes, systemd and `docker stop` send) as one cancellation, so
/// either ends a run the same clean way: the coordinator checkpoints, a worker leaves the run. The signal's
/// default action (ending the process at once) is cancelled; the process exits when the run has stopped.
/// Here because both programs need it and this is the one assembly they share.
/// </summary>
public sealed class StopSignal : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration[] _registrations;
    private string? _received;

    private StopSignal(CancellationToken also, bool interrupt)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(also);
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, interrupt ? OnSignal : context => context.Cancel = true),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
    }

    /// <summary>
    /// Starts listening; <paramref name="also"/> stops as well (e.g. a caller's own cancellation). Without
    /// <paramref name="interrupt"/>, SIGINT is ignored: a terminal's Ctrl+C reaches a launcher's whole process
    /// group, and the launcher (train --workers N) stops its workers through the run, after their state is saved.
    /// </summary>
    public static StopSignal Listen(CancellationToken also = default, bool interrupt = true) => new(also, interrupt);

    /// <summary>Fires at the first SIGINT or SIGTERM.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>"SIGTERM" or "SIGINT", whichever came first; null until one has (or when only <c>also</c> fired).</summary>
    public string? Received => Volatile.Read(ref _received);

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        Interlocked.CompareExchange(ref _received, context.Signal.ToString(), null);
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // A signal that lands while the program is already past its run has nothing left to stop.
        }
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
        _stop.Dispose();
    }
}

using System.Runtime.InteropServices;
using Distributed.Models.DataParallel;
using Distributed.Models.Training;
using Distributed.Protocol;

namespace Distributed.Coordinator.Distributed;

/// <summary>
/// One member's state on its way in: chunks assembled into buffers shaped as the coordinator's own (so
/// the sender decides nothing about their size), each tensor checked against its SHA-256, the
/// parameters against NaN and infinity. The run takes it only when every tensor arrived whole;
/// until then its copy of the state is untouched. Disposing it without <see cref="DistributedRun.CompleteStateUpload"/>
/// frees the uploader's turn for another.
/// </summary>
public sealed class StateUpload(WorkerSlot sender, long step, ReplicaSnapshot blank, Action<StateUpload> abandon) : IDisposable
{
    private readonly Dictionary<string, float[]> _tensors = blank.StateBuffers.ToDictionary(b => b.Name, b => b.Buffer.Data);
    private readonly Dictionary<string, long> _next = [];   // each tensor's next element: chunks come in order, so no more than the state arrives
    private readonly HashSet<string> _complete = [];
    private Action<StateUpload>? _abandon = abandon;
    private long _received;

    /// <summary>The member that sends it.</summary>
    public WorkerSlot Sender { get; } = sender;

    /// <summary>Bytes taken so far (read by the run, to tell an upload that moves on from one that stalled).</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Optimizer steps the state reflects.</summary>
    public long Step { get; } = step;

    /// <summary>The state as it arrived; whole once <see cref="IsComplete"/>.</summary>
    public ReplicaSnapshot State { get; } = blank;

    public bool IsComplete => _complete.Count == _tensors.Count;

    /// <summary>Which tensors are still missing, for a refusal.</summary>
    public string Missing => string.Join(", ", _tensors.Keys.Where(name => !_complete.Contains(name)));

    /// <summary>
    /// One chunk: <paramref name="data"/> at element <paramref name="offset"/> of tensor <paramref name="tensor"/>
    /// of <paramref name="totalElements"/>; with <paramref name="sha256"/> on the tensor's last chunk. Returns a problem, or null.
    /// </summary>
    public string? Put(string tensor, long offset, ReadOnlySpan<byte> data, long totalElements, string sha256)
    {
        if (!_tensors.TryGetValue(tensor, out var values))
        {
            return $"a state tensor '{Membership.Shorten(tensor)}' this run does not have (it has {string.Join(", ", _tensors.Keys)})";
        }
        if (totalElements != values.Length || offset < 0 || data.Length % sizeof(float) != 0 || offset > values.Length - data.Length / sizeof(float))
        {
            return $"a chunk of '{tensor}' at element {offset} of {totalElements} with {data.Length} bytes, outside its {values.Length} elements";
        }
        if (_complete.Contains(tensor))
        {
            return $"more of '{tensor}' after its last chunk";
        }
        if (offset != _next.GetValueOrDefault(tensor))
        {
            return $"a chunk of '{tensor}' at element {offset}, where element {_next.GetValueOrDefault(tensor)} comes next (chunks come in order)";
        }
        _next[tensor] = offset + data.Length / sizeof(float);
        Interlocked.Add(ref _received, data.Length);
        try
        {
            if (!Chunks.Put(MemoryMarshal.AsBytes(values.AsSpan()), offset * sizeof(float), data, sha256, $"State tensor '{tensor}'"))
            {
                return null;
            }
        }
        catch (InvalidDataException e)
        {
            return e.Message;
        }
        if (tensor == ModelReplica.ParametersName && !GradientAverage.AllFinite(values))
        {
            return "parameters that are not finite (NaN or infinity)";
        }
        _complete.Add(tensor);
        return null;
    }

    public void Dispose() => Interlocked.Exchange(ref _abandon, null)?.Invoke(this);

    /// <summary>The run took the state: disposing no longer gives the turn away.</summary>
    internal void Taken() => _abandon = null;
}

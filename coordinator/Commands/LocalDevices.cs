using Distributed.Models.Runtime;

namespace Distributed.Coordinator.Commands;

/// <summary>
/// `train --workers N --devices cuda:0,...`: one GPU per local worker, like torchrun's one process per GPU;
/// worker K is started with --device set to the K-th entry. Refused at once, in one line, before any data is read.
/// </summary>
public static class LocalDevices
{
    public const string Option = "--devices";

    /// <summary>The device of each of <paramref name="workers"/> local workers, or null without --devices (every worker on the CPU).</summary>
    public static IReadOnlyList<string>? Parse(string? value, int workers)
    {
        if (value is null)
        {
            return null;
        }
        var devices = value.Split(',', StringSplitOptions.TrimEntries);
        var example = string.Join(",", Enumerable.Range(0, Math.Max(workers, 1)).Select(k => $"cuda:{k}"));
        if (workers < 1)
        {
            throw new ArgumentException($"{Option} {value} needs local worker processes: pass --workers {devices.Length} (one worker per device) with it.");
        }
        foreach (var device in devices)
        {
            if (DeviceCheck.CudaIndex(device) is null)
            {
                throw new ArgumentException($"{Option} entry '{device}' is not cuda:K (K a GPU index); e.g. {Option} {example}.");
            }
        }
        if (devices.Length != workers)
        {
            throw new ArgumentException(
                $"{Option} {value} names {devices.Length} device{(devices.Length == 1 ? "" : "s")} for --workers {workers}: give one cuda:K per worker, e.g. {Option} {example}.");
        }
        if (devices.GroupBy(d => DeviceCheck.CudaIndex(d)).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new ArgumentException($"{Option} {value} names cuda:{twice.Key} twice: each worker gets a GPU of its own; e.g. {Option} {example}.");
        }
        if (!DeviceCheck.IsGpuBuild)
        {
            throw new ArgumentException(DeviceCheck.NotGpuBuild($"{Option} {value}", instead: $"leave out {Option} to train on the CPU"));
        }
        return devices.Select(d => $"cuda:{DeviceCheck.CudaIndex(d)}").ToList();
    }
}

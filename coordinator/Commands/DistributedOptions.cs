using System.CommandLine;
using Distributed.Coordinator.Distributed;

namespace Distributed.Coordinator.Commands;

/// <summary>The options shared by `train --workers N` and `serve`.</summary>
public sealed class DistributedOptions
{
    public Option<int> MinWorkers { get; } = new("--min-workers") { Description = "Give up when fewer workers than this are left (default 1).", DefaultValueFactory = _ => 1 };

    public Option<double> Timeout { get; } = new("--timeout") { Description = "Seconds of silence after which a worker (or, for workers, the coordinator) counts as lost.", DefaultValueFactory = _ => 10 };

    public Option<int> Port { get; } = new("--port") { Description = "Port to listen on (0: any free port)." };

    public Option<double> StepTimeout { get; } = new("--step-timeout") { Description = "Seconds a live worker may take to deliver a step's gradient (or its validation) before it is dropped.", DefaultValueFactory = _ => 300 };

    public void AddTo(Command command)
    {
        command.Options.Add(MinWorkers);
        command.Options.Add(Timeout);
        command.Options.Add(Port);
        command.Options.Add(StepTimeout);
    }

    public DistributedRunOptions RunOptions(ParseResult result, int workers, string outputDirectory) => new()
    {
        Workers = workers,
        MinWorkers = result.GetValue(MinWorkers),
        Timeout = TimeSpan.FromSeconds(result.GetValue(Timeout)),
        StepTimeout = TimeSpan.FromSeconds(result.GetValue(StepTimeout)),
        OutputDirectory = outputDirectory,
    };
}

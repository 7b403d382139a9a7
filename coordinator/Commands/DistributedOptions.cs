using System.CommandLine;
using Distributed.Coordinator.Distributed;
using Distributed.Models.DataParallel;
using Distributed.Models;

namespace Distributed.Coordinator.Commands;

/// <summary>The options shared by `train --workers N` and `serve`.</summary>
public sealed class DistributedOptions
{
    public Option<int> MinWorkers { get; } = new("--min-workers") { Description = "Give up when fewer workers than this are left (default 1).", DefaultValueFactory = _ => 1 };

    public Option<double> Timeout { get; } = new("--timeout") { Description = "Seconds of silence after which a worker (or, for workers, the coordinator) counts as lost.", DefaultValueFactory = _ => 10 };

    public Option<int> Port { get; } = new("--port") { Description = "Port to listen on (0: any free port)." };

    public Option<int> MetricsPort { get; } = new("--metrics-port")
    {
        Description = "Serve the live dashboard at http://ADDR:P/ and Prometheus metrics at http://ADDR:P/metrics in cleartext HTTP/1.1 (default: any free port of 127.0.0.1; the log says which). " +
                      "Given, on the coordinator's address (--bind), and local workers serve their /metrics too, on any free port.",
        DefaultValueFactory = _ => 0,
    };

    public Option<double> StepTimeout { get; } = new("--step-timeout") { Description = "Seconds a live worker may take to deliver a step's gradient (or its validation) before it is dropped.", DefaultValueFactory = _ => 300 };

    public Option<string> Transport { get; } = CreateTransport();

    private static Option<string> CreateTransport()
    {
        var option = new Option<string>("--transport")
        {
            Description = "Data plane for gradients: auto (shared memory for workers on this host, raw TCP on --data-port for the others), " +
                          "tcp (raw TCP for every worker) or grpc (the gRPC stream for every worker). No TCP under TLS: gRPC instead.",
            DefaultValueFactory = _ => "auto",
        };
        option.AcceptOnlyFromAmong("auto", "tcp", "grpc");
        return option;
    }

    public Option<int> DataPort { get; } = CreateDataPort();

    private static Option<int> CreateDataPort()
    {
        var option = new Option<int>("--data-port") { Description = "Port of the raw TCP data plane, on the same address (0: any free port)." };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 0 or > 65535)
            {
                result.AddError($"--data-port {result.GetValueOrDefault<int>()} is not a port; pass 0 (any free port) or 1..65535.");
            }
        });
        return option;
    }

    /// <summary>Whether --metrics-port is on the command line (then local workers serve their /metrics too).</summary>
    public bool MetricsPortGiven(ParseResult result) => result.GetResult(MetricsPort) is { Implicit: false };

    /// <summary>Whether workers on this host are offered the shared-memory data plane.</summary>
    public bool SharedMemory(ParseResult result) => result.GetValue(Transport) == "auto";

    /// <summary>Whether workers that ask are offered the raw TCP data plane.</summary>
    public bool TcpDataPlane(ParseResult result) => result.GetValue(Transport) != "grpc";


    public void AddTo(Command command)
    {
        command.Options.Add(Transport);
        command.Options.Add(MinWorkers);
        command.Options.Add(Timeout);
        command.Options.Add(Port);
        command.Options.Add(DataPort);
        command.Options.Add(StepTimeout);
        command.Options.Add(MetricsPort);
    }

    /// <summary>--metrics-port, refused when it is no port or one the coordinator already listens on.</summary>
    public int MetricsPortOf(ParseResult result, int port, int? healthPort)
    {
        var metrics = result.GetValue(MetricsPort);
        if (metrics is < 0 or > 65535 || (metrics != 0 && (metrics == port || metrics == healthPort)))
        {
            throw new ArgumentException($"--metrics-port {metrics} must be a port from 1 to 65535 other than --port and --health-port, or 0 for any free one; e.g. --metrics-port 9090.");
        }
        return metrics;
    }

    /// <summary>The run's options, refused at once (before any config or data is read) when they could never train.</summary>
    public DistributedRunOptions RunOptions(ParseResult result, int workers, string outputDirectory)
    {
        var options = new DistributedRunOptions
        {
            Workers = workers,
            MinWorkers = result.GetValue(MinWorkers),
            Timeout = Seconds(result, Timeout),
            StepTimeout = Seconds(result, StepTimeout),
            OutputDirectory = outputDirectory,
        };
        if (options.Workers < 1)
        {
            throw new ArgumentException($"--workers {options.Workers}: a distributed run needs at least one worker; pass --workers N with N >= 1.");
        }
        if (options.MinWorkers < 1)
        {
            throw new ArgumentException($"--min-workers {options.MinWorkers} must be at least 1; pass --min-workers 1 (the default) or more.");
        }
        if (options.MinWorkers > options.Workers)
        {
            throw new ArgumentException(
                $"--min-workers {options.MinWorkers} is above --workers {options.Workers}: the run would stop as soon as it started; lower --min-workers or raise --workers.");
        }
        return options;
    }

    /// <summary>Refuses a global batch (or micro-batch) the workers cannot share, from the resolved config, before the data is read.</summary>
    public static void CheckBatch(GptConfig config, int workers)
    {
        if (DataParallelLayout.SharingProblem(workers, config.BatchSize, config.GradAccumSteps, $"--workers {workers}") is { } problem)
        {
            throw new ArgumentException(problem);
        }
    }

    private static TimeSpan Seconds(ParseResult result, Option<double> option)
    {
        var seconds = result.GetValue(option);
        if (!(seconds > 0) || double.IsInfinity(seconds))
        {
            throw new ArgumentException($"{option.Name} {seconds} must be a number of seconds above 0; e.g. {option.Name} {option.GetDefaultValue()}.");
        }
        return TimeSpan.FromSeconds(seconds);
    }
}

using System.CommandLine;
using System.Net;
using Distributed.Coordinator.Distributed;
using Distributed.Protocol;

namespace Distributed.Coordinator.Commands;

/// <summary>`serve`: the coordinator of a cluster run; workers on other machines join it over gRPC.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var training = new TrainingOptions();
        var distributed = new DistributedOptions();
        var workers = new Option<int?>("--workers") { Description = "Workers to wait for before training starts (default: WORLD_SIZE - 1, see README's launch contract)." };
        var bind = new Option<string>("--bind")
        {
            Description = "Address to listen on (0.0.0.0: every interface; the default when MASTER_ADDR names another host).", DefaultValueFactory = _ => "127.0.0.1",
        };
        var healthPort = new Option<int?>("--health-port")
        {
            Description = "Also serve grpc.health.v1 Check, and only that, in cleartext on this port (for Kubernetes grpc probes, which cannot speak TLS).",
        };
        var token = new Option<string?>("--token") { Description = $"Shared run token the workers must present (default: ${RunToken.EnvironmentVariable})." };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "PEM certificate (then any intermediate CAs) to serve HTTP/2 over TLS; workers connect with https://." };
        var tlsKey = new Option<string?>("--tls-key") { Description = "PEM private key of --tls-cert." };
        var clientCa = new Option<string?>("--client-ca") { Description = "PEM CA file: admit only workers whose client certificate it signed (mutual TLS)." };
        var command = new Command("serve", "Coordinate a data-parallel run whose workers join over the network.") { workers, bind, healthPort, token, tlsCert, tlsKey, clientCa };
        training.AddTo(command);
        distributed.AddTo(command);
        command.SetAction((result, cancel) => CommandErrors.Guard(() =>
        {
            var secret = result.GetValue(token) ?? Environment.GetEnvironmentVariable(RunToken.EnvironmentVariable);
            if (string.IsNullOrEmpty(secret))
            {
                throw new ArgumentException($"serve needs a run token: pass --token SECRET or set {RunToken.EnvironmentVariable}, and give workers the same.");
            }
            // The launch contract fills in what the command line leaves out (a PyTorchJob's Master runs serve unchanged).
            var launch = LaunchContract.FromEnvironment().ForServe(result.GetValue(workers), Given(result, distributed.Port),
                Given(result, bind), defaultPort: 0, defaultBind: result.GetValue(bind)!);
            if (!IPAddress.TryParse(launch.Bind, out var address))
            {
                throw new ArgumentException($"--bind {launch.Bind} is not an IP address (e.g. 0.0.0.0 or 127.0.0.1).");
            }
            if (result.GetValue(healthPort) is { } health && (health is < 1 or > 65535 || health == launch.Port))
            {
                throw new ArgumentException($"--health-port {health} must be a free port from 1 to 65535 other than --port {launch.Port}, e.g. --health-port 8081.");
            }
            var (certificate, key, ca) = (result.GetValue(tlsCert), result.GetValue(tlsKey), result.GetValue(clientCa));
            if ((certificate is null) != (key is null) || (ca is not null && certificate is null))
            {
                throw new ArgumentException("TLS needs both --tls-cert FILE.pem and --tls-key FILE.pem (and --client-ca only with them).");
            }
            var tls = certificate is null ? null : ServerTls.Load(certificate, key!, ca);
            var metricsPort = distributed.MetricsPortOf(result, launch.Port, result.GetValue(healthPort));
            var options = training.Read(result, TrainCommand.Log);
            var run = distributed.RunOptions(result, launch.Workers, options.OutputDirectory);
            if (launch.FromLaunch.Count > 0)
            {
                TrainCommand.Log($"From the launch environment: {string.Join(", ", launch.FromLaunch)}.");
            }
            return TrainingRun.Execute(options, config => DistributedOptions.CheckBatch(config, run.Workers),
                (job, prepared, observer, stop) => DistributedJob.Run(prepared, new DistributedJobOptions
                {
                    Training = job,
                    Run = run,
                    Address = address,
                    Port = launch.Port,
                    HealthPort = result.GetValue(healthPort),
                    SharedMemory = distributed.SharedMemory(result),
                    MetricsPort = metricsPort,
                    MetricsAddress = distributed.MetricsPortGiven(result) ? null : IPAddress.Loopback,
                    TcpDataPlane = distributed.TcpDataPlane(result),
                    DataPort = result.GetValue(distributed.DataPort),
                    Token = secret,
                    Tls = tls,
                }, observer, TrainCommand.Log, stop), cancel, command: "serve");
        }));
        return command;
    }

    /// <summary>The option's value when it is on the command line; null when only its default would say.</summary>
    private static string? Given(ParseResult result, Option<string> option)
        => result.GetResult(option) is { Implicit: false } ? result.GetValue(option) : null;

    /// <inheritdoc cref="Given(ParseResult, Option{string})"/>
    private static int? Given(ParseResult result, Option<int> option)
        => result.GetResult(option) is { Implicit: false } ? result.GetValue(option) : null;
}

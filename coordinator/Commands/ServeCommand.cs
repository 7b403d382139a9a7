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
        var workers = new Option<int>("--workers") { Description = "Workers to wait for before training starts.", Required = true };
        var bind = new Option<string>("--bind") { Description = "Address to listen on (0.0.0.0: every interface).", DefaultValueFactory = _ => "127.0.0.1" };
        var token = new Option<string?>("--token") { Description = $"Shared run token the workers must present (default: ${RunToken.EnvironmentVariable})." };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "PEM certificate (then any intermediate CAs) to serve HTTP/2 over TLS; workers connect with https://." };
        var tlsKey = new Option<string?>("--tls-key") { Description = "PEM private key of --tls-cert." };
        var clientCa = new Option<string?>("--client-ca") { Description = "PEM CA file: admit only workers whose client certificate it signed (mutual TLS)." };
        var command = new Command("serve", "Coordinate a data-parallel run whose workers join over the network.") { workers, bind, token, tlsCert, tlsKey, clientCa };
        training.AddTo(command);
        distributed.AddTo(command);
        command.SetAction((result, cancel) => CommandErrors.Guard(() =>
        {
            var secret = result.GetValue(token) ?? Environment.GetEnvironmentVariable(RunToken.EnvironmentVariable);
            if (string.IsNullOrEmpty(secret))
            {
                throw new ArgumentException($"serve needs a run token: pass --token SECRET or set {RunToken.EnvironmentVariable}, and give workers the same.");
            }
            if (!IPAddress.TryParse(result.GetValue(bind), out var address))
            {
                throw new ArgumentException($"--bind {result.GetValue(bind)} is not an IP address (e.g. 0.0.0.0 or 127.0.0.1).");
            }
            var (certificate, key, ca) = (result.GetValue(tlsCert), result.GetValue(tlsKey), result.GetValue(clientCa));
            if ((certificate is null) != (key is null) || (ca is not null && certificate is null))
            {
                throw new ArgumentException("TLS needs both --tls-cert FILE.pem and --tls-key FILE.pem (and --client-ca only with them).");
            }
            var tls = certificate is null ? null : ServerTls.Load(certificate, key!, ca);
            var options = training.Read(result);
            var run = distributed.RunOptions(result, result.GetValue(workers), options.OutputDirectory);
            return TrainingRun.Execute(options, config => DistributedOptions.CheckBatch(config, run.Workers),
                (job, prepared, observer, stop) => DistributedJob.Run(prepared, new DistributedJobOptions
                {
                    Training = job,
                    Run = run,
                    Address = address,
                    Port = result.GetValue(distributed.Port),
                    SharedMemory = distributed.SharedMemory(result),
                    TcpDataPlane = distributed.TcpDataPlane(result),
                    DataPort = result.GetValue(distributed.DataPort),
                    Token = secret,
                    Tls = tls,
                }, observer, TrainCommand.Log, stop), cancel, command: "serve");
        }));
        return command;
    }
}

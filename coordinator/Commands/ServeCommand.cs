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
        var bind = new Option<string>("--bind") { Description = "Address to listen on.", DefaultValueFactory = _ => "0.0.0.0" };
        var token = new Option<string?>("--token") { Description = $"Shared run token the workers must present (default: ${RunToken.EnvironmentVariable})." };
        var command = new Command("serve", "Coordinate a data-parallel run whose workers join over the network.") { workers, bind, token };
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
            var options = training.Read(result);
            var run = distributed.RunOptions(result, result.GetValue(workers), options.OutputDirectory);
            return TrainingRun.Execute(options, config => DistributedOptions.CheckBatch(config, run.Workers),
                (job, prepared, observer, stop) => DistributedJob.Run(prepared, new DistributedJobOptions
                {
                    Training = job,
                    Run = run,
                    Address = address,
                    Port = result.GetValue(distributed.Port),
                    Token = secret,
                }, observer, TrainCommand.Log, stop), cancel);
        }));
        return command;
    }
}

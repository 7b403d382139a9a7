using System.CommandLine;
using Distributed.Coordinator.Distributed;
using Distributed.Models.Training;

namespace Distributed.Coordinator.Commands;

/// <summary>
/// `train`: one training run with a progress bar, a line per evaluation and files in --out; with
/// --workers N, a data-parallel run over N worker processes on this machine.
/// </summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var training = new TrainingOptions();
        var distributed = new DistributedOptions();
        var workers = new Option<int>("--workers") { Description = "Train data-parallel with N worker processes on this machine (0: in this process).", DefaultValueFactory = _ => 0 };
        var devices = new Option<string?>(LocalDevices.Option) { Description = "One GPU per local worker, e.g. cuda:0,cuda:1 with --workers 2 (GPU build only)." };
        var command = new Command("train", "Train a GPT on a text file.") { workers, devices };
        training.AddTo(command);
        distributed.AddTo(command);
        command.SetAction((result, cancel) => CommandErrors.Guard(() =>
        {
            var options = training.Read(result, TrainCommand.Log);
            var count = result.GetValue(workers);
            if (count < 0)
            {
                throw new ArgumentException($"--workers {count} is negative; pass 0 (the default) to train in this process, or N >= 1 for N worker processes.");
            }
            var localDevices = LocalDevices.Parse(result.GetValue(devices), count);
            if (count == 0)
            {
                return TrainingRun.Execute(options, _ => { }, (job, prepared, observer, stop) => TrainingJob.Run(prepared, job, observer, stop), cancel);
            }
            var run = distributed.RunOptions(result, count, options.OutputDirectory);
            var port = result.GetValue(distributed.Port);
            var metricsPort = distributed.MetricsPortOf(result, port, healthPort: null);
            return TrainingRun.Execute(options, config => DistributedOptions.CheckBatch(config, count),
                (job, prepared, observer, stop) => DistributedJob.Run(prepared, new DistributedJobOptions
                {
                    Training = job,
                    Run = run,
                    LocalWorkers = count,
                    ThreadsPerWorker = options.Threads,
                    Devices = localDevices,
                    Port = port,
                    MetricsPort = metricsPort,
                    LocalWorkerMetrics = distributed.MetricsPortGiven(result),
                    SharedMemory = distributed.SharedMemory(result),
                    TcpDataPlane = distributed.TcpDataPlane(result),
                    DataPort = result.GetValue(distributed.DataPort),
                }, observer, Log, stop), cancel);
        }));
        return command;
    }

    public static void Log(string line) => TerminalLog.Info(line);
}

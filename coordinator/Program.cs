using System.CommandLine;
using Distributed.Coordinator.Commands;

var root = new RootCommand("Train GPT language models on ONNX Runtime.")
{
    TrainCommand.Create(),
    ServeCommand.Create(),
    ParamsCommand.Create(),
    SampleCommand.Create(),
    EvaluateCommand.Create(),
    SweepCommand.Create(),
    RunsCommand.Create(),
    BenchmarkCommand.Create(),
};
// Ctrl+C and SIGTERM are the commands' own business (Distributed.Protocol.StopSignal): System.CommandLine would
// otherwise end the process with code 130 or 143 two seconds after the signal, in the middle of the checkpoint.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

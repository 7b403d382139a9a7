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
return await root.Parse(args).InvokeAsync();

using System.CommandLine;
using System.Text.Json;
using Distributed.Coordinator.Data;
using Distributed.Models.Training;
using Distributed.Models;

namespace Distributed.Coordinator.Commands;

/// <summary>`evaluate`: a checkpoint's train and validation loss on a text.</summary>
public static class EvaluateCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A run folder (the --out of train).", Required = true };
        var data = new Option<string>("--data") { Description = $"A UTF-8 text file, or '{CorpusArgument.TinyShakespeare}' (shipped inside the program); split 90/10 as in training.", Required = true };
        var batches = new Option<int>("--batches")
        {
            Description = "0: every window of each split (what train reports). N > 0: the mean of N batches of batch_size " +
                          "windows at random offsets per split, as nanoGPT's estimate_loss with eval_iters=N.",
            DefaultValueFactory = _ => 0,
        };
        var seed = new Option<long>("--seed") { Description = "Seed for the random windows of --batches.", DefaultValueFactory = _ => 1337 };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime threads (0: every core).", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        var command = new Command("evaluate", "Score a checkpoint's loss on the train and validation splits of a text.")
        {
            checkpoint, data, batches, seed, threads, json,
        };
        command.SetAction((result, _) => CommandErrors.Guard(() =>
        {
            if (result.GetValue(batches) < 0)
            {
                throw new ArgumentException($"--batches must be 0 (every window) or a positive count, not {result.GetValue(batches)}.");
            }
            var text = CorpusArgument.Read(result.GetValue(data)!);
            var losses = CheckpointEvaluation.Run(result.GetValue(checkpoint)!, text, result.GetValue(batches), result.GetValue(seed), result.GetValue(threads));
            if (result.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(losses, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
                return 0;
            }
            Console.WriteLine($"train loss {losses.TrainLoss:F4} over {losses.TrainWindows:N0} windows");
            Console.WriteLine($"val loss   {losses.ValLoss:F4} over {losses.ValWindows:N0} windows");
            return 0;
        }));
        return command;
    }
}

using System.CommandLine;
using Distributed.Models.Checkpoints;
using Distributed.Models.Runtime;
using Distributed.Models.Training;
using Distributed.Models;

namespace Distributed.Coordinator.Commands;

/// <summary>`sample`: generate text from a run's checkpoint with its exported model.onnx.</summary>
public static class SampleCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A run folder (the --out of train).", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "Text to continue.", DefaultValueFactory = _ => "\n" };
        var tokens = new Option<int>("--tokens") { Description = "How many tokens to generate.", DefaultValueFactory = _ => 500 };
        var temperature = new Option<double>("--temperature") { Description = "Softmax temperature (lower is more conservative; 0: greedy, always the most likely token).", DefaultValueFactory = _ => 0.8 };
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely tokens (0: all).", DefaultValueFactory = _ => 200 };
        var seed = new Option<long>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 1337 };
        var command = new Command("sample", "Generate text from a trained checkpoint.") { checkpoint, prompt, tokens, temperature, topK, seed };
        command.SetAction((result, _) => CommandErrors.Guard(() =>
        {
            var directory = result.GetValue(checkpoint)!;
            if (!(result.GetValue(temperature) >= 0) || double.IsInfinity(result.GetValue(temperature)))
            {
                throw new ArgumentException($"--temperature {result.GetValue(temperature)} must be 0 (greedy: always the most likely token) or above (e.g. 0.8).");
            }
            var (config, tokenizer, contents) = RunCheckpoint.Load(directory);
            if (!contents.ExtraFiles.TryGetValue(TrainingJob.OnnxFile, out var model))
            {
                throw new CheckpointException($"'{directory}' has no {TrainingJob.OnnxFile}; it is not a finished train run's folder.");
            }
            using var generator = new TextGenerator(model, config.MaxSequenceLength);
            var text = result.GetValue(prompt)!;
            Console.Write(text);
            // Print as tokens arrive, holding back a BPE token that ends mid-way through a UTF-8 character.
            var generated = new List<int>();
            var printed = 0;
            generator.Generate(tokenizer.Encode(text), result.GetValue(tokens), result.GetValue(temperature), result.GetValue(topK),
                new Rng(result.GetValue(seed)), token =>
                {
                    generated.Add(token);
                    var decoded = tokenizer.Decode(generated.ToArray());
                    if (!decoded.EndsWith('\uFFFD'))
                    {
                        Console.Write(decoded[printed..]);
                        printed = decoded.Length;
                    }
                });
            Console.WriteLine();
            return 0;
        }));
        return command;
    }
}

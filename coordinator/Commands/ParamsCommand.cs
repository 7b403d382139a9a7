using System.CommandLine;
using System.Text.Json;
using Distributed.Models.Config;
using Distributed.Models;
using Spectre.Console;

namespace Distributed.Coordinator.Commands;

/// <summary>`params`: the parameter count of a preset or a config, by part.</summary>
public static class ParamsCommand
{
    public static Command Create()
    {
        var preset = new Option<string?>("--preset") { Description = $"One of: {string.Join(", ", GptPresets.Names)}." };
        var config = new Option<string?>("--config") { Description = "JSON config file (vocab_size must be set)." };
        var set = new Option<string[]>("--set") { Description = "Override a config field (repeatable)." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var command = new Command("params", "Count a GPT's parameters.") { preset, config, set, json };
        command.SetAction((result, _) => CommandErrors.Guard(() =>
        {
            var (presetName, configPath) = (result.GetValue(preset), result.GetValue(config));
            if ((presetName is null) == (configPath is null))
            {
                throw new ArgumentException("Give exactly one of --preset NAME or --config FILE.");
            }
            var gpt = presetName is not null
                ? ConfigLoader.Load(GptPresets.Get(presetName), null, result.GetValue(set) ?? [])
                : ConfigLoader.Load(configPath, result.GetValue(set) ?? []);
            if (gpt.VocabSize <= 0)
            {
                throw new ArgumentException("vocab_size is 0 (taken from the tokenizer at training time); add --set vocab_size=N to count.");
            }
            var count = ParameterCount.Of(gpt);
            if (result.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(count, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true }));
                return 0;
            }
            var table = new Table().AddColumn("part").AddColumn(new TableColumn("parameters").RightAligned());
            table.AddRow("token embedding (tied output projection)", $"{count.TokenEmbedding:N0}");
            table.AddRow("position embedding", $"{count.PositionEmbedding:N0}");
            table.AddRow("attention weights", $"{count.AttentionWeights:N0}");
            table.AddRow("attention biases", $"{count.AttentionBiases:N0}");
            table.AddRow("feed-forward weights", $"{count.FeedForwardWeights:N0}");
            table.AddRow("feed-forward biases", $"{count.FeedForwardBiases:N0}");
            table.AddRow("layer norms", $"{count.LayerNorms:N0}");
            table.AddRow("[bold]total[/]", $"[bold]{count.Total:N0}[/]");
            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }
}

using System.CommandLine;
using System.Text.Json;
using Distributed.Models.Config;
using Distributed.Models;
using Spectre.Console;

namespace Distributed.Coordinator.Commands;

/// <summary>`params`: the parameter count of a preset or a config, by part and kind (weights, biases).</summary>
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
            AnsiConsole.WriteLine(Describe(gpt));
            var table = new Table().AddColumn("part").AddColumns(new[] { "weights", "biases", "total" }.Select(c => new TableColumn(c).RightAligned()).ToArray());
            void Row(string part, long weights, long biases = 0) => table.AddRow(part, $"{weights:N0}", $"{biases:N0}", $"{weights + biases:N0}");
            Row("token embedding", count.TokenEmbedding);
            Row("position embedding", count.PositionEmbedding);
            Row("attention", count.AttentionWeights, count.AttentionBiases);
            Row("feed-forward", count.FeedForwardWeights, count.FeedForwardBiases);
            Row("norms", count.NormWeights, count.NormBiases);
            Row(gpt.TieEmbeddings ? "output head (tied)" : "output head", count.OutputHead);
            table.AddRow("[bold]total[/]", $"[bold]{count.Weights:N0}[/]", $"[bold]{count.Biases:N0}[/]", $"[bold]{count.Total:N0}[/]");
            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }

    /// <summary>"32 layers, 32 heads, width 4096, feed-forward 11008 (swiglu), ...": what was counted.</summary>
    private static string Describe(GptConfig c) =>
        $"{c.NumLayers} layers, {c.NumHeads} heads, width {c.EmbeddingSize}, feed-forward {c.FeedForwardWidth} ({LowercaseEnumNames.Of(c.Mlp)}), "
        + $"context {c.MaxSequenceLength}, vocab {c.VocabSize}; {LowercaseEnumNames.Of(c.Norm)}, {LowercaseEnumNames.Of(c.Position)} positions, "
        + $"{(c.Bias ? "biases" : "no biases")}, {(c.TieEmbeddings ? "tied" : "untied")} head{(c.QkNorm ? ", qk-norm" : "")}";
}

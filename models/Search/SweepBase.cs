using System.Text.Json.Nodes;
using Distributed.Models.Config;

namespace Distributed.Models.Search;

/// <summary>
/// The config every trial starts from: the defaults, then "base_config" (a config file, read by
/// ConfigLoader, path relative to the sweep file), then the fields of "base".
/// </summary>
internal static class SweepBase
{
    /// <returns>The base config, or null after adding the problems that prevent it.</returns>
    public static GptConfig? Read(SweepFields fields, string sweepPath, string source, List<string> problems)
    {
        var before = problems.Count;
        var configPath = fields.Text("base_config");
        var inline = fields.Object("base", "{ \"num_layers\": 2 }");
        if (problems.Count > before)
        {
            return null;
        }

        var start = new GptConfig();
        if (configPath is not null)
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(sweepPath))!;
            var resolved = Path.GetFullPath(Path.Combine(folder, configPath));
            if (!File.Exists(resolved))
            {
                problems.Add($"{source}: base_config = \"{configPath}\" does not exist (looked for '{resolved}'); the path is relative to the sweep file's folder");
                return null;
            }
            try
            {
                start = ConfigLoader.Load(resolved, []);
            }
            catch (ConfigException e)
            {
                problems.AddRange(e.Problems.Select(p => $"{source}: base_config: {p}"));
                return null;
            }
        }

        var overrides = (inline ?? []).ToList();
        foreach (var (key, value) in overrides)
        {
            if (ConfigJson.CheckField($"{source}: base", key, value) is { } problem)
            {
                problems.Add(problem);
            }
        }
        if (problems.Count > before)
        {
            return null;
        }
        var (config, invalid) = new ConfigPatch(start).Apply(overrides);
        var what = configPath is null ? "base" : "base_config with base";
        problems.AddRange(invalid.Select(p => $"{source}: {what} is not a valid config: {p}"));
        return invalid.Count == 0 ? config : null;
    }
}

using System.Text.Json;

namespace Distributed.Models.Training;

/// <summary>Appends one JSON object per evaluation to metrics.jsonl, flushed at once so a crash loses nothing.</summary>
public static class MetricsLog
{
    public const string FileName = "metrics.jsonl";

    public static void Append(string directory, EvaluationReport report)
    {
        using var stream = new FileStream(Path.Combine(directory, FileName), FileMode.Append, FileAccess.Write);
        using var writer = new StreamWriter(stream);
        writer.WriteLine(JsonSerializer.Serialize(report));
        writer.Flush();
        stream.Flush(flushToDisk: true);
    }

    public static IReadOnlyList<EvaluationReport> Read(string directory)
        => File.ReadAllLines(Path.Combine(directory, FileName))
            .Where(line => line.Length > 0)
            .Select(line => JsonSerializer.Deserialize<EvaluationReport>(line)!)
            .ToList();
}

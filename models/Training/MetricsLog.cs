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

    /// <summary>
    /// Drops the rows after <paramref name="step"/> (rewriting the file atomically): a run resumed from that step's
    /// checkpoint evaluates those steps again. A process killed between a row and its checkpoint leaves such rows.
    /// </summary>
    public static void DropAfter(string directory, int step)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return;
        }
        var rows = File.ReadAllLines(path).Where(line => line.Length > 0).ToList();
        var kept = rows.Where((line, i) => Parse(line, last: i == rows.Count - 1) is { } row && row.Step <= step).ToList();
        if (kept.Count < rows.Count)
        {
            Checkpoints.AtomicFile.Write(path, System.Text.Encoding.UTF8.GetBytes(string.Concat(kept.Select(line => line + Environment.NewLine))));
        }
    }

    /// <summary>A row; null for a last line cut short (a kill or power cut in the middle of an append), which is dropped.</summary>
    private static EvaluationReport? Parse(string line, bool last)
    {
        try
        {
            return JsonSerializer.Deserialize<EvaluationReport>(line);
        }
        catch (JsonException) when (last)
        {
            return null;
        }
    }

    public static IReadOnlyList<EvaluationReport> Read(string directory)
        => File.ReadAllLines(Path.Combine(directory, FileName))
            .Where(line => line.Length > 0)
            .Select(line => JsonSerializer.Deserialize<EvaluationReport>(line)!)
            .ToList();
}

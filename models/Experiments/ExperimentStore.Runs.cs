using Distributed.Models.Config;
using Microsoft.Data.Sqlite;

namespace Distributed.Models.Experiments;

/// <summary>Runs: create, finish, resume, and look up (by id, all, or the latest in an output directory).</summary>
public sealed partial class ExperimentStore
{
    private const string RunColumns = "id, kind, name, output_directory, config_json, created_at, finished_at, status, seconds";

    /// <summary>Records a new run with status `running`. <paramref name="configJson"/> is the base config of a
    /// train run or the text of the sweep file.</summary>
    public long CreateRun(string kind, string name, string outputDirectory, string configJson)
    {
        Allowed.Require(kind, RunKind.All, nameof(kind));
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(configJson);
        var directory = NormalizeDirectory(outputDirectory);
        return Write(db => db.Int64(
            """
            INSERT INTO runs (kind, name, output_directory, config_json, created_at, status)
            VALUES ($kind, $name, $directory, $config, $now, 'running')
            RETURNING id
            """,
            ("$kind", kind), ("$name", name), ("$directory", directory), ("$config", configJson), ("$now", Now))!.Value);
    }

    /// <summary>
    /// Ends a running run. <paramref name="seconds"/> is the time this process spent on it; it is added to
    /// the seconds of earlier processes, so a resumed run reports its total. Throws if the run is not running
    /// (finish it once; call <see cref="ResumeRun"/> to continue a finished one).
    /// </summary>
    public void FinishRun(long runId, string status, double seconds)
    {
        Allowed.Require(status, RunStatus.Final, nameof(status));
        Allowed.RequireSeconds(seconds, nameof(seconds));
        Write(db =>
        {
            var current = RunStatusOf(db, runId);
            if (current != RunStatus.Running)
                throw new InvalidOperationException($"Run {runId} in {FilePath} is already {current}; resume it before finishing it again.");
            db.Execute(
                "UPDATE runs SET status = $status, finished_at = $now, seconds = coalesce(seconds, 0) + $seconds WHERE id = $id",
                ("$status", status), ("$now", Now), ("$seconds", seconds), ("$id", runId));
        });
    }

    /// <summary>Marks a run `running` again (for --resume), whatever it was; its trials and seconds are kept.</summary>
    public void ResumeRun(long runId) => Write(db =>
    {
        if (db.Execute("UPDATE runs SET status = 'running', finished_at = NULL WHERE id = $id", ("$id", runId)) == 0)
            throw NoSuchRun(runId);
    });

    /// <summary>Every run, oldest first.</summary>
    public IReadOnlyList<RunRow> Runs() =>
        Read(db => db.Query($"SELECT {RunColumns} FROM runs ORDER BY id", ReadRun));

    public RunRow? Run(long id) =>
        Read(db => db.Query($"SELECT {RunColumns} FROM runs WHERE id = $id", ReadRun, ("$id", id)).SingleOrDefault());

    /// <summary>The newest run of <paramref name="kind"/> written to <paramref name="outputDirectory"/> (any
    /// spelling of the same directory), for resuming it; null if there is none.</summary>
    public RunRow? LatestRun(string outputDirectory, string kind)
    {
        Allowed.Require(kind, RunKind.All, nameof(kind));
        var directory = NormalizeDirectory(outputDirectory);
        return Read(db => db.Query(
            $"SELECT {RunColumns} FROM runs WHERE output_directory = $directory AND kind = $kind ORDER BY id DESC LIMIT 1",
            ReadRun, ("$directory", directory), ("$kind", kind)).SingleOrDefault());
    }

    /// <summary>Output directories are stored absolute and without a trailing separator, so `runs/x`,
    /// `./runs/x/` and `/home/me/runs/x` find the same runs.</summary>
    private static string NormalizeDirectory(string outputDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        return Path.TrimEndingDirectorySeparator(Path.GetFullPath(outputDirectory));
    }

    private string RunStatusOf(SqlSession db, long runId) =>
        db.Query("SELECT status FROM runs WHERE id = $id", r => r.GetString(0), ("$id", runId)).SingleOrDefault()
        ?? throw NoSuchRun(runId);

    private KeyNotFoundException NoSuchRun(long runId) => new($"{FilePath} has no run {runId}.");

    private static RunRow ReadRun(SqliteDataReader r) => new(
        Id: r.GetInt64(0),
        Kind: r.GetString(1),
        Name: r.GetString(2),
        OutputDirectory: r.GetString(3),
        ConfigJson: r.GetString(4),
        CreatedAt: SqlSession.ReadTimestamp(r, 5),
        FinishedAt: SqlSession.ReadOptionalTimestamp(r, 6),
        Status: r.GetString(7),
        Seconds: SqlSession.ReadOptionalDouble(r, 8));
}

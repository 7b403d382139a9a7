using Distributed.Models.Config;
using Microsoft.Data.Sqlite;

namespace Distributed.Models.Experiments;

/// <summary>Trials: add (idempotent), start, finish, checkpoint, and list.</summary>
public sealed partial class ExperimentStore
{
    private const string TrialColumns =
        "id, run_id, trial_index, params_json, config_json, status, reason, attempts, started_at, finished_at, seconds, best_val_loss, final_val_loss, checkpoint_path";

    /// <summary>The lowest validation loss of a trial's evaluations and its final loss; min() skips NULLs (NaN losses).
    /// Recomputed rather than min'ed with the new value, so an evaluation that replaces another cannot leave it stale.</summary>
    private const string UpdateBestValLoss = """
        UPDATE trials SET best_val_loss = (
            SELECT min(loss) FROM (
                SELECT val_loss AS loss FROM evaluations WHERE trial_id = $id
                UNION ALL
                SELECT final_val_loss FROM trials WHERE id = $id))
        WHERE id = $id
        """;

    /// <summary>
    /// Adds trial <paramref name="index"/> of a run as `pending` and returns its id. Adding the same index again
    /// (a resumed sweep) returns the existing id, provided its swept values are the same; different values mean
    /// the sweep changed under the run, and that throws rather than mixing two sweeps' results.
    /// </summary>
    public long AddTrial(long runId, int index, string paramsJson, string configJson)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentNullException.ThrowIfNull(paramsJson);
        ArgumentNullException.ThrowIfNull(configJson);
        return Write(db =>
        {
            var existing = db.Query(
                "SELECT id, params_json FROM trials WHERE run_id = $run AND trial_index = $index",
                r => (Id: r.GetInt64(0), Params: r.GetString(1)), ("$run", runId), ("$index", index));
            if (existing.Count == 1)
            {
                if (existing[0].Params != paramsJson)
                    throw new InvalidOperationException(
                        $"Trial {index} of run {runId} in {FilePath} already exists with parameters {existing[0].Params}, not {paramsJson}; was the sweep changed since the run started?");
                return existing[0].Id;
            }
            RunStatusOf(db, runId); // a clear error for an unknown run instead of a foreign key failure
            return db.Int64(
                """
                INSERT INTO trials (run_id, trial_index, params_json, config_json, status)
                VALUES ($run, $index, $params, $config, 'pending')
                RETURNING id
                """,
                ("$run", runId), ("$index", index), ("$params", paramsJson), ("$config", configJson))!.Value;
        });
    }

    /// <summary>
    /// Starts an attempt: status `running`, attempts + 1, started_at now, reason cleared. Allowed from `pending`,
    /// `failed` (a retry) and `running` (the previous process died without finishing it; that attempt's time is
    /// not counted). A `completed` or `stopped_early` trial is not started again.
    /// </summary>
    public void StartTrial(long trialId) => Write(db =>
    {
        var current = TrialStatusOf(db, trialId);
        if (TrialStatus.IsDone(current))
            throw new InvalidOperationException($"Trial {trialId} in {FilePath} is already {current}; a finished trial is not started again.");
        db.Execute(
            """
            UPDATE trials SET status = 'running', attempts = attempts + 1, started_at = $now, finished_at = NULL, reason = NULL
            WHERE id = $id
            """,
            ("$now", Now), ("$id", trialId));
    });

    /// <summary>
    /// Ends the current attempt with `completed`, `stopped_early` or `failed`; the last two need a
    /// <paramref name="reason"/>. The attempt's time is added to the trial's seconds. A null
    /// <paramref name="checkpointPath"/> keeps the one recorded by <see cref="SetCheckpoint"/>. Allowed from
    /// `running`, and from `pending` for a trial that failed before it could start.
    /// </summary>
    public void FinishTrial(long trialId, string status, string? reason, double? finalValLoss, string? checkpointPath)
    {
        Allowed.Require(status, TrialStatus.Final, nameof(status));
        if (TrialStatus.NeedsReason(status) && string.IsNullOrWhiteSpace(reason))
            throw new ArgumentException($"A trial that ends '{status}' needs a reason: say why it stopped or failed.", nameof(reason));
        Write(db =>
        {
            var current = TrialStatusOf(db, trialId);
            if (current is not (TrialStatus.Running or TrialStatus.Pending))
                throw new InvalidOperationException($"Trial {trialId} in {FilePath} is {current}, not running; start it before finishing it.");
            var now = Now;
            var startedAt = db.Query(
                "SELECT started_at FROM trials WHERE id = $id", r => SqlSession.ReadOptionalTimestamp(r, 0), ("$id", trialId)).Single();
            double? attemptSeconds = current == TrialStatus.Running && startedAt is { } start
                ? Math.Max(0, (now - start).TotalSeconds)
                : null;
            db.Execute(
                """
                UPDATE trials SET
                    status = $status, reason = $reason, finished_at = $now,
                    seconds = CASE WHEN $attempt IS NULL THEN seconds ELSE coalesce(seconds, 0) + $attempt END,
                    final_val_loss = $final, checkpoint_path = coalesce($checkpoint, checkpoint_path)
                WHERE id = $id
                """,
                ("$status", status), ("$reason", reason), ("$now", now), ("$attempt", attemptSeconds),
                ("$final", finalValLoss), ("$checkpoint", checkpointPath), ("$id", trialId));
            db.Execute(UpdateBestValLoss, ("$id", trialId));
        });
    }

    /// <summary>Records the trial's latest checkpoint (null: it has none), so a resumed sweep knows where to continue.</summary>
    public void SetCheckpoint(long trialId, string? path) => Write(db =>
    {
        if (db.Execute("UPDATE trials SET checkpoint_path = $path WHERE id = $id", ("$path", path), ("$id", trialId)) == 0)
            throw NoSuchTrial(trialId);
    });

    /// <summary>The run's trials in index order.</summary>
    public IReadOnlyList<TrialRow> Trials(long runId) =>
        Read(db => db.Query($"SELECT {TrialColumns} FROM trials WHERE run_id = $run ORDER BY trial_index", ReadTrial, ("$run", runId)));

    public TrialRow? Trial(long trialId) =>
        Read(db => db.Query($"SELECT {TrialColumns} FROM trials WHERE id = $id", ReadTrial, ("$id", trialId)).SingleOrDefault());

    private string TrialStatusOf(SqlSession db, long trialId) =>
        db.Query("SELECT status FROM trials WHERE id = $id", r => r.GetString(0), ("$id", trialId)).SingleOrDefault()
        ?? throw NoSuchTrial(trialId);

    private KeyNotFoundException NoSuchTrial(long trialId) => new($"{FilePath} has no trial {trialId}.");

    private static TrialRow ReadTrial(SqliteDataReader r) => new(
        Id: r.GetInt64(0),
        RunId: r.GetInt64(1),
        Index: r.GetInt32(2),
        ParamsJson: r.GetString(3),
        ConfigJson: r.GetString(4),
        Status: r.GetString(5),
        Reason: SqlSession.ReadOptionalString(r, 6),
        Attempts: r.GetInt32(7),
        StartedAt: SqlSession.ReadOptionalTimestamp(r, 8),
        FinishedAt: SqlSession.ReadOptionalTimestamp(r, 9),
        Seconds: SqlSession.ReadOptionalDouble(r, 10),
        BestValLoss: SqlSession.ReadOptionalDouble(r, 11),
        FinalValLoss: SqlSession.ReadOptionalDouble(r, 12),
        CheckpointPath: SqlSession.ReadOptionalString(r, 13));
}

using Microsoft.Data.Sqlite;

namespace Distributed.Models.Experiments;

/// <summary>
/// Creates the store's tables in a new file and checks the schema version of an existing one. The CHECK
/// constraints repeat RunKind, RunStatus and TrialStatus so a file edited by other tools stays readable here.
/// </summary>
internal static class ExperimentSchema
{
    /// <summary>Bump with a migration in <see cref="Prepare"/> when the tables change.</summary>
    public const int Version = 1;

    private const string Create = """
        CREATE TABLE schema_version (version INTEGER NOT NULL);

        CREATE TABLE runs (
            id               INTEGER PRIMARY KEY,
            kind             TEXT NOT NULL CHECK (kind IN ('train', 'sweep')),
            name             TEXT NOT NULL,
            output_directory TEXT NOT NULL,
            config_json      TEXT NOT NULL,
            created_at       TEXT NOT NULL,
            finished_at      TEXT,
            status           TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
            seconds          REAL
        );
        CREATE INDEX runs_by_output_directory ON runs (output_directory, kind, id);

        CREATE TABLE trials (
            id              INTEGER PRIMARY KEY,
            run_id          INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            trial_index     INTEGER NOT NULL CHECK (trial_index >= 0),
            params_json     TEXT NOT NULL,
            config_json     TEXT NOT NULL,
            status          TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'stopped_early', 'failed')),
            reason          TEXT,
            attempts        INTEGER NOT NULL DEFAULT 0,
            started_at      TEXT,
            finished_at     TEXT,
            seconds         REAL,
            best_val_loss   REAL,
            final_val_loss  REAL,
            checkpoint_path TEXT,
            UNIQUE (run_id, trial_index)
        );

        -- One row per (trial, step): a trial resumed from a checkpoint taken before its last evaluation
        -- evaluates that step again, and the newer row replaces the older instead of doubling it.
        CREATE TABLE evaluations (
            trial_id       INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
            step           INTEGER NOT NULL,
            epoch          INTEGER NOT NULL,
            train_loss     REAL,
            val_loss       REAL,
            learning_rate  REAL,
            tokens_per_sec REAL,
            recorded_at    TEXT NOT NULL,
            PRIMARY KEY (trial_id, step)
        );
        """;

    /// <summary>Connection settings, then the tables if the file is new, or a version check if it is not.</summary>
    public static void Prepare(SqliteConnection connection, string path)
    {
        // Per-connection, and a no-op inside a transaction, so set before anything else.
        Pragma(connection, "PRAGMA foreign_keys = ON");
        // WAL lets a report read the file while trials write to it. This is also the first statement that
        // reads the file, so a file that is not a database fails here. Some file systems (network shares)
        // refuse WAL; SQLite then keeps its rollback journal, which is slower but correct, so we go on.
        Pragma(connection, "PRAGMA journal_mode = WAL");
        // In WAL mode NORMAL cannot corrupt the file; a power cut may lose the last evaluations, which the
        // metrics.jsonl beside the checkpoint still has. FULL would fsync on every evaluation of every trial.
        Pragma(connection, "PRAGMA synchronous = NORMAL");

        // IMMEDIATE, so two processes opening a new file at once do not both create the tables.
        using var transaction = connection.BeginTransaction(deferred: false);
        var db = new SqlSession(connection, transaction);
        if (db.Int64("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'") == 0)
        {
            if (db.Int64("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'") > 0)
                throw new ExperimentStoreException($"{path} is an SQLite database but not an experiment store (it has tables but no schema_version); refusing to add tables to it.");
            db.Execute(Create);
            db.Execute("INSERT INTO schema_version (version) VALUES ($version)", ("$version", Version));
        }
        else
        {
            var version = db.Int64("SELECT max(version) FROM schema_version")
                ?? throw new ExperimentStoreException($"{path} has an empty schema_version table; it was not written by the experiment store, or was damaged.");
            if (version > Version)
                throw new ExperimentStoreException($"{path} has experiment store schema version {version}, newer than the {Version} this build reads; open it with a newer build.");
            // version < Version: migrations go here once there is a version 2.
        }
        transaction.Commit();
    }

    private static void Pragma(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

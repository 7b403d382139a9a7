using Microsoft.Data.Sqlite;

namespace Distributed.Models.Experiments;

/// <summary>The experiment store's file cannot be opened or used; the message names the file and what is wrong.</summary>
public sealed class ExperimentStoreException : Exception
{
    // SQLite's primary result codes for the two ways a file can fail to be a usable database.
    private const int SqliteCorrupt = 11;
    private const int SqliteNotADatabase = 26;

    public ExperimentStoreException(string message)
        : base(message) { }

    public ExperimentStoreException(string message, Exception inner)
        : base(message, inner) { }

    /// <summary>Wraps a driver error so the caller learns which file it came from, in plain words where we can.</summary>
    internal static ExperimentStoreException From(string path, SqliteException error) =>
        (error.SqliteErrorCode & 0xff) switch
        {
            SqliteNotADatabase => new($"{path} is not an SQLite database (is it the wrong file, or was it overwritten?): {error.Message}", error),
            SqliteCorrupt => new($"{path} is a corrupt SQLite database: {error.Message}", error),
            _ => new($"experiment store {path}: {error.Message}", error),
        };
}

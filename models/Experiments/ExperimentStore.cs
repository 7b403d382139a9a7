using Microsoft.Data.Sqlite;

namespace Distributed.Models.Experiments;

/// <summary>
/// One SQLite file recording every run (a single `train`, or a `sweep`), its trials and each trial's
/// evaluations, so sweeps can be compared, resumed and reported on after the processes are gone.
/// Thread-safe: the trials of a sweep report from their own threads through one connection behind a lock.
/// SQLite lets one writer in at a time anyway, and a single connection keeps "database is locked" retries
/// out of this process. Other processes may open the same file (WAL lets them read while one writes).
/// Every operation is one transaction, so a crash never leaves half of one behind.
/// </summary>
public sealed partial class ExperimentStore : IDisposable
{
    public const string DefaultFileName = "experiments.db";

    private readonly SqliteConnection _connection;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private bool _disposed;

    private ExperimentStore(string filePath, SqliteConnection connection, TimeProvider time)
    {
        FilePath = filePath;
        _connection = connection;
        _time = time;
    }

    /// <summary>The absolute path of the database file.</summary>
    public string FilePath { get; }

    /// <summary>
    /// Opens the store at <paramref name="path"/>, creating the file (and its directory) and the tables if
    /// missing. Throws <see cref="ExperimentStoreException"/> naming the file if it is not an SQLite database,
    /// is another program's database, or was written by a newer schema.
    /// </summary>
    public static ExperimentStore Open(string path) => Open(path, TimeProvider.System);

    /// <summary>Opens with a given clock, so tests can check timestamps and durations exactly.</summary>
    internal static ExperimentStore Open(string path, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = Path.GetFullPath(path);
        if (Directory.Exists(fullPath))
            throw new ExperimentStoreException($"{fullPath} is a directory; the experiment store is a file (for example {Path.Combine(fullPath, DefaultFileName)}).");
        var directory = Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(directory))
            Directory.CreateDirectory(directory);

        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            // Without pooling, Dispose really closes the file, so it can be moved or deleted right after.
            Pooling = false,
        }.ToString();
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            ExperimentSchema.Prepare(connection, fullPath);
            return new ExperimentStore(fullPath, connection, time);
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw ExperimentStoreException.From(fullPath, e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            _connection.Dispose();
        }
    }

    /// <summary>Runs <paramref name="work"/> in a write transaction (IMMEDIATE: takes the write lock up front,
    /// so a read-then-write cannot be overtaken by another process between the two).</summary>
    private T Write<T>(Func<SqlSession, T> work) => InTransaction(deferred: false, work);

    private void Write(Action<SqlSession> work) => InTransaction(deferred: false, db => { work(db); return 0; });

    /// <summary>Runs <paramref name="work"/> in a read transaction: one consistent snapshot, no write lock.</summary>
    private T Read<T>(Func<SqlSession, T> work) => InTransaction(deferred: true, work);

    private T InTransaction<T>(bool deferred, Func<SqlSession, T> work)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                using var transaction = _connection.BeginTransaction(deferred);
                var result = work(new SqlSession(_connection, transaction));
                transaction.Commit();
                return result;
            }
            catch (SqliteException e)
            {
                throw ExperimentStoreException.From(FilePath, e);
            }
        }
    }

    private DateTimeOffset Now => _time.GetUtcNow();
}

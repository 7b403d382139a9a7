using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Distributed.Models.Experiments;

/// <summary>
/// Parameterized commands inside one transaction (Microsoft.Data.Sqlite requires every command of an open
/// transaction to name it). Values are converted in one place: null and NaN become NULL, times become UTC
/// ISO-8601 text, which sorts in time order and reads back in any tool.
/// </summary>
internal sealed class SqlSession(SqliteConnection connection, SqliteTransaction transaction)
{
    public int Execute(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        using var command = Command(sql, parameters);
        return command.ExecuteNonQuery();
    }

    public long? Int64(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        using var command = Command(sql, parameters);
        return command.ExecuteScalar() is { } value and not DBNull ? Convert.ToInt64(value, CultureInfo.InvariantCulture) : null;
    }

    public List<T> Query<T>(string sql, Func<SqliteDataReader, T> map, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        using var command = Command(sql, parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
            rows.Add(map(reader));
        return rows;
    }

    private SqliteCommand Command(string sql, ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, ToDatabase(value));
        return command;
    }

    private static object ToDatabase(object? value) => value switch
    {
        null => DBNull.Value,
        // SQLite has no NaN; say so explicitly rather than rely on the driver's conversion.
        double d when double.IsNaN(d) => DBNull.Value,
        DateTimeOffset t => Timestamp(t),
        _ => value,
    };

    public static string Timestamp(DateTimeOffset time) => time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    public static DateTimeOffset ReadTimestamp(SqliteDataReader reader, int ordinal) =>
        DateTimeOffset.Parse(reader.GetString(ordinal), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static DateTimeOffset? ReadOptionalTimestamp(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : ReadTimestamp(reader, ordinal);

    public static double? ReadOptionalDouble(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetDouble(ordinal);

    /// <summary>A loss or rate that was NaN went in as NULL and comes back as NaN.</summary>
    public static double ReadDoubleOrNaN(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? double.NaN : reader.GetDouble(ordinal);

    public static string? ReadOptionalString(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}

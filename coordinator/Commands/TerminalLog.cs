using System.Globalization;
using Spectre.Console;

namespace Distributed.Coordinator.Commands;

/// <summary>
/// The coordinator's log lines on the terminal. In a terminal they go through Spectre.Console, so a
/// progress bar on screen stays below them instead of being overwritten; when the output is redirected
/// (a file, a pipe, a test) each is one plain line, never wrapped at Spectre's assumed 80 columns, so a
/// log search still finds it whole.
/// </summary>
public static class TerminalLog
{
    private static readonly object Order = new();

    public static void Info(string line) => Write(line, "grey");

    public static void Warning(string line) => Write(line, "yellow");

    public static void Error(string line) => Write(line, "red");

    /// <summary>A line of Spectre markup: styled in a terminal (plain when it would need wrapping), markup removed when redirected.</summary>
    public static void Markup(string markup)
    {
        var plain = Spectre.Console.Markup.Remove(markup);
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            Console.Out.WriteLine(plain);
        }
        else if (plain.Length < AnsiConsole.Profile.Width && !plain.Contains('\n'))
        {
            AnsiConsole.MarkupLine(markup);
        }
        else
        {
            Write(plain, "default");
        }
    }

    /// <summary>
    /// A line cut into pieces shorter than <paramref name="width"/>, at spaces where it can be, continuation
    /// pieces indented. Spectre's progress display keeps only one line of each write clear of the bar (a
    /// line it wraps itself leaves bits of the bar on screen), so a long line goes out a piece per write.
    /// </summary>
    public static IReadOnlyList<string> Wrap(string line, int width)
    {
        const string indent = "    ";
        var pieces = new List<string>();
        width = Math.Max(width, 2 * indent.Length + 8);
        foreach (var paragraph in line.Replace("\r", "").Split('\n'))
        {
            var rest = paragraph;
            var first = true;
            do
            {
                var room = first ? width - 1 : width - 1 - indent.Length;
                var take = rest.Length;
                if (take > room)
                {
                    var space = rest.LastIndexOf(' ', room);
                    take = space > room / 2 ? space : room;
                }
                pieces.Add((first ? "" : indent) + rest[..take]);
                rest = rest[take..].TrimStart(' ');
                first = false;
            }
            while (rest.Length > 0);
        }
        return pieces;
    }

    private static void Write(string line, string style)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            Console.Out.WriteLine(line);
            return;
        }
        var parsed = Style.Parse(style);
        // Pieces of one line stay together even when several threads log at once.
        lock (Order)
        {
            foreach (var piece in Wrap(line, AnsiConsole.Profile.Width))
            {
                // Text, not markup: a log line may hold brackets.
                AnsiConsole.Write(new Text(piece + Environment.NewLine, parsed));
            }
        }
    }
}

/// <summary>
/// Microsoft.Extensions.Logging to <see cref="TerminalLog"/> ("HH:mm:ss message", warnings and errors
/// marked), and, when given a file, everything with its category and stack traces to that file too
/// (&lt;out&gt;/logs/coordinator.log).
/// </summary>
public sealed class TerminalLoggerProvider : ILoggerProvider
{
    private readonly StreamWriter? _file;

    /// <param name="file">A log file to append to (its folder is created); null: the terminal only.</param>
    public TerminalLoggerProvider(string? file = null)
    {
        if (file is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
            _file = new StreamWriter(new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
        if (_file is not null)
        {
            lock (_file)
            {
                _file.Dispose();
            }
        }
    }

    /// <summary>The terminal line for one entry: time, level when it is not information, message, and an exception's message.</summary>
    public static string Format(DateTime time, LogLevel level, string message, Exception? exception)
    {
        var marker = level switch
        {
            LogLevel.Warning => "warn: ",
            LogLevel.Error => "fail: ",
            LogLevel.Critical => "crit: ",
            LogLevel.Debug => "dbug: ",
            LogLevel.Trace => "trce: ",
            _ => "",
        };
        var line = $"{time.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} {marker}{message}";
        return exception is null ? line : $"{line} ({exception.GetType().Name}: {exception.Message})";
    }

    private void Write(string category, LogLevel level, string message, Exception? exception)
    {
        var now = DateTime.Now;
        var line = Format(now, level, message, exception);
        switch (level)
        {
            case >= LogLevel.Error:
                TerminalLog.Error(line);
                break;
            case LogLevel.Warning:
                TerminalLog.Warning(line);
                break;
            default:
                TerminalLog.Info(line);
                break;
        }
        if (_file is not null)
        {
            lock (_file)
            {
                _file.WriteLine($"{now.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture)} {level} {category}: {message}");
                if (exception is not null)
                {
                    _file.WriteLine(exception.ToString());
                }
            }
        }
    }

    private sealed class Logger(TerminalLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Write(category, logLevel, formatter(state, exception), exception);
            }
        }
    }
}

/// <summary>Hands a host's loggers on to another factory (the run's), so the web host logs where the run does, under its filters too.</summary>
public sealed class ForwardingLoggerProvider(ILoggerFactory target) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => target.CreateLogger(categoryName);

    public void Dispose()
    {
        // The target belongs to whoever made it.
    }
}

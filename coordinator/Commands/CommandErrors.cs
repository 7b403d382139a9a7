using Distributed.Models.Checkpoints;
using Distributed.Models.Config;
using Distributed.Models;
using Spectre.Console;

namespace Distributed.Coordinator.Commands;

/// <summary>Turns the errors a user can fix (bad option, config, data, checkpoint) into one clear message on standard error and exit code 2.</summary>
public static class CommandErrors
{
    /// <summary>
    /// Wider than any message: Spectre breaks lines at its width (80 columns when redirected), which would
    /// split the one line a log search or a script looks for. A terminal wraps long lines by itself.
    /// </summary>
    private const int RedirectedWidth = 10_000;

    private static readonly IAnsiConsole Error = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    public static Task<int> Guard(Func<int> action)
    {
        try
        {
            return Task.FromResult(action());
        }
        catch (ConfigException e)
        {
            return Fail("Invalid configuration", string.Join(Environment.NewLine, e.Problems));
        }
        catch (Exception e) when (e is CheckpointException or FileNotFoundException or InvalidDataException or IOException
                                      or ArgumentException or KeyNotFoundException or InvalidOperationException or Models.Training.TrainingDivergedException)
        {
            return Fail("Error", Sentence(e));
        }
    }

    private static Task<int> Fail(string title, string message)
    {
        if (Console.IsErrorRedirected)
        {
            Error.Profile.Width = RedirectedWidth;
        }
        Error.MarkupLineInterpolated($"[red]{title}:[/] {message}");
        return Task.FromResult(2);
    }

    /// <summary>The message without what .NET appends to an ArgumentException: " (Parameter 'name')" and "Actual value was ...".</summary>
    private static string Sentence(Exception e)
    {
        if (e is not ArgumentException { ParamName: { Length: > 0 } name })
        {
            return e.Message;
        }
        var message = e.Message.Split(Environment.NewLine)[0];
        var suffix = $" (Parameter '{name}')";
        return message.EndsWith(suffix, StringComparison.Ordinal) ? message[..^suffix.Length] : message;
    }
}

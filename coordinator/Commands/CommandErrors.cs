using Distributed.Models.Checkpoints;
using Distributed.Models.Config;
using Distributed.Models;
using Spectre.Console;

namespace Distributed.Coordinator.Commands;

/// <summary>Turns the errors a user can fix (bad config, data, checkpoint) into one clear message and exit code 2.</summary>
public static class CommandErrors
{
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
            return Fail("Error", e.Message);
        }
    }

    private static Task<int> Fail(string title, string message)
    {
        AnsiConsole.MarkupLineInterpolated($"[red]{title}:[/] {message}");
        return Task.FromResult(2);
    }
}

using System.Text.RegularExpressions;
using Distributed.Coordinator.Commands;
using Distributed.Models.Experiments;
using Distributed.Tests.Checkpoints;
using Distributed.Tests.Experiments;
using Spectre.Console;

namespace Distributed.Tests.Terminal;

/// <summary>`runs`: a folder or the file for --db, ISO times, values rounded for reading.</summary>
public sealed class RunsCommandTests : IDisposable
{
    private static readonly DateTimeOffset Started = new(2026, 12, 2, 3, 14, 0, TimeSpan.Zero);

    private readonly TempDirectory _temp = new();

    public RunsCommandTests()
    {
        var clock = new ManualClock(Started);
        using var store = ExperimentStore.Open(_temp.File(ExperimentStore.DefaultFileName), clock);
        var run = store.CreateRun(RunKind.Sweep, "lr", _temp.Path, "{}");
        var trial = store.AddTrial(run, 0, """{"learning_rate":0.00031622776601683794,"n_layer":4,"activation":"gelu"}""", "{}");
        store.StartTrial(trial);
        store.RecordEvaluation(trial, new EvaluationRow(10, 0, 2.123456789, 2.0123456789, 3e-4, 1000));
        clock.Advance(TimeSpan.FromSeconds(41.23456));
        store.FinishTrial(trial, TrialStatus.Completed, null, 1.98765432109876, null);
        store.FinishRun(run, RunStatus.Completed, 41.23456);
    }

    public void Dispose() => _temp.Dispose();

    private string Print(string argument)
    {
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 250;
        RunsCommand.Print(console, argument);
        return output.ToString();
    }

    [Fact]
    public void A_folder_means_the_store_inside_it()
        => Assert.Equal(Print(_temp.File(ExperimentStore.DefaultFileName)), Print(_temp.Path));

    [Fact]
    public void Times_are_iso_to_the_minute_in_local_time()
    {
        var text = Print(_temp.Path);

        Assert.Contains($"started {Started.ToLocalTime():yyyy-MM-dd HH:mm}", text);
        Assert.Matches(new Regex(@"started \d{4}-\d\d-\d\d \d\d:\d\d, finished \d{4}-\d\d-\d\d \d\d:\d\d, 41\.2 s"), text);
        Assert.DoesNotContain("/2026", text);
    }

    [Fact]
    public void Values_are_rounded()
    {
        var text = Print(_temp.Path);

        Assert.Contains("learning_rate=3.162e-04 n_layer=4 activation=gelu", text);
        Assert.Contains("1.9877", text);
        Assert.Contains("41.2", text);
        Assert.DoesNotContain("0.000316227766", text);
        Assert.DoesNotContain("1.98765", text);
    }

    [Fact]
    public void A_folder_without_a_store_is_refused_in_one_line()
    {
        using var empty = new TempDirectory();

        var error = Assert.Throws<FileNotFoundException>(() => RunsCommand.StorePath(empty.Path));

        Assert.Contains(Path.Combine(empty.Path, ExperimentStore.DefaultFileName), error.Message);
        Assert.Contains("--db", error.Message);
    }
}

using Distributed.Coordinator.Commands;
using Distributed.Coordinator.Distributed;
using Distributed.Models.Runtime;
using Distributed.Models.Training;
using Distributed.Models;
using Distributed.Worker;
using Microsoft.Extensions.Logging;

namespace Distributed.Tests.Terminal;

/// <summary>What the terminal shows: log lines that keep clear of the progress bar, learning rates, thread counts.</summary>
public class TerminalTests
{
    [Theory]
    [InlineData(9.86e-4, "9.86e-04")]
    [InlineData(1e-3, "1.00e-03")]
    [InlineData(3e-5, "3.00e-05")]
    [InlineData(0.1, "1.00e-01")]
    [InlineData(0.0, "0.00e+00")]
    public void Learning_rates_read_with_a_lower_case_two_digit_exponent(double rate, string expected)
        => Assert.Equal(expected, LearningRateText.Format(rate));

    [Fact]
    public void The_diverged_message_prints_its_learning_rate_the_same_way()
        => Assert.Contains("now 9.86e-04", new TrainingDivergedException(3, float.NaN, 9.86e-4).Message);

    [Fact]
    public void Long_log_lines_are_cut_at_spaces_into_pieces_that_fit()
    {
        var line = "03:55:31 Generation 1: 3 workers from step 0 (epoch 0): rank 0 (worker-2, bca5477d7409), rank 1 (worker-0, 9177b51841f1), rank 2 (worker-1, 9e54c440e23f)";

        var pieces = TerminalLog.Wrap(line, 80);

        Assert.True(pieces.Count > 1);
        Assert.All(pieces, p => Assert.True(p.Length < 80, $"'{p}' is {p.Length} long"));
        Assert.All(pieces.Skip(1), p => Assert.StartsWith("    ", p));
        Assert.Equal(line, string.Join(" ", pieces.Select(p => p.Trim())));
        Assert.Equal(["short line"], TerminalLog.Wrap("short line", 80));
        // No space to cut at: cut anyway; a line break in the message starts a new piece.
        Assert.All(TerminalLog.Wrap(new string('x', 300), 80), p => Assert.True(p.Length < 80));
        Assert.Equal(["first", "second"], TerminalLog.Wrap("first\nsecond", 80));
    }

    [Fact]
    public void Log_entries_carry_time_level_and_the_exception_on_one_line()
    {
        var time = new DateTime(2026, 12, 2, 3, 14, 15);

        Assert.Equal("03:14:15 Worker w0 joined", TerminalLoggerProvider.Format(time, LogLevel.Information, "Worker w0 joined", null));
        Assert.Equal("03:14:15 warn: Lost rank 1", TerminalLoggerProvider.Format(time, LogLevel.Warning, "Lost rank 1", null));
        Assert.Equal("03:14:15 fail: Step failed (IOException: disk full)",
            TerminalLoggerProvider.Format(time, LogLevel.Error, "Step failed", new IOException("disk full")));
    }

    [Fact]
    public void The_log_file_gets_every_entry_with_its_category()
    {
        using var directory = new Checkpoints.TempDirectory();
        var file = Path.Combine(directory.Path, "logs", "coordinator.log");
        using (var provider = new TerminalLoggerProvider(file))
        using (var loggers = LoggerFactory.Create(b => b.AddProvider(provider)))
        {
            loggers.CreateLogger("Distributed.Test").LogWarning("Lost rank {Rank}", 1);
        }

        var text = File.ReadAllText(file);
        Assert.Contains("Warning Distributed.Test: Lost rank 1", text);
    }

    [Theory]
    [InlineData(2, 0, 2, 1)]
    [InlineData(1, 0, 8, 8)]
    [InlineData(3, 0, 8, 2)]
    [InlineData(4, 0, 2, 1)]
    [InlineData(2, 3, 8, 3)]
    public void Local_workers_share_the_cores_unless_told_their_threads(int workers, int requested, int cores, int expected)
        => Assert.Equal(expected, WorkerThreads.Each(workers, requested, cores));

    [Fact]
    public void Workers_that_add_up_to_more_threads_than_cores_are_warned_about_with_a_fix()
    {
        Assert.Null(WorkerThreads.Oversubscription(2, 1, 2));
        Assert.Null(WorkerThreads.Oversubscription(2, 4, 8));

        var tooMany = WorkerThreads.Oversubscription(4, 1, 2)!;
        Assert.Equal("4 workers x 1 thread each = 4 threads on 2 cores: they will take turns on the cores and train slower; use --workers 2 or fewer.", tooMany);
        var tooWide = WorkerThreads.Oversubscription(2, 4, 4)!;
        Assert.Contains("2 workers x 4 threads each = 8 threads on 4 cores", tooWide);
        Assert.Contains("use --threads 2 or fewer", tooWide);
    }

    [Fact]
    public void A_worker_reports_the_threads_it_uses_not_zero()
    {
        Assert.Equal(6, WorkerOptions.ThreadsFor(0, 6));
        Assert.Equal(3, WorkerOptions.ThreadsFor(3, 6));
        Assert.Equal(Environment.ProcessorCount, WorkerOptions.ThreadsFor(0, Environment.ProcessorCount));
        Assert.Throws<ArgumentOutOfRangeException>(() => WorkerOptions.ThreadsFor(-1, 6));
    }

    [Fact]
    public void Temperature_zero_is_greedy()
    {
        float[] logits = [0.5f, 2.0f, -1f, 1.9f, 2.0f];

        // The most likely token every time, whatever the seed (the first of equals), and top-k makes no difference.
        for (var seed = 0; seed < 20; seed++)
        {
            Assert.Equal(1, TextGenerator.Sample(logits, 0, 0, new Rng(seed)));
            Assert.Equal(1, TextGenerator.Sample(logits, 0, 2, new Rng(seed)));
        }
        // A positive temperature still samples: over many draws, more than one token comes up.
        var drawn = Enumerable.Range(0, 50).Select(s => TextGenerator.Sample(logits, 1.0, 0, new Rng(s))).Distinct().Count();
        Assert.True(drawn > 1);
    }
}

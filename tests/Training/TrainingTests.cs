using Distributed.Models.Checkpoints;
using Distributed.Models.Config;
using Distributed.Models.Tokenizers;
using Distributed.Models.Training;
using Distributed.Models;

namespace Distributed.Tests.Training;

public sealed class TrainingTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("training-tests-");

    public void Dispose() => _directory.Delete(recursive: true);

    private TrainingJobOptions Options(string output, params string[] overrides) => new()
    {
        ConfigPath = WriteConfig(TestCorpus.TinyConfig),
        Overrides = overrides,
        Data = TestCorpus.WriteFile(_directory.FullName, 12_000),
        OutputDirectory = Path.Combine(_directory.FullName, output),
        Threads = 1,
    };

    private string WriteConfig(GptConfig config)
    {
        var path = Path.Combine(_directory.FullName, "config.json");
        File.WriteAllText(path, ConfigLoader.ToJson(config));
        return path;
    }

    [Fact]
    public void A_tiny_gpt_learns_generated_text_far_below_chance()
    {
        var options = Options("run");
        var observer = new RecordingObserver();

        var summary = TrainingJob.Run(options, observer, _ => { });

        var vocab = TokenizerFiles.Load(options.OutputDirectory).VocabSize;
        var chance = Math.Log(vocab);
        Assert.True(summary.ValLoss < 0.35 * chance, $"val loss {summary.ValLoss:F3} vs ln(vocab) {chance:F3}");
        Assert.True(observer.Losses[^1] < observer.Losses[0] / 2);
        // One metrics line per evaluation, with the fields users plot.
        var metrics = MetricsLog.Read(options.OutputDirectory);
        Assert.Equal([50, 100, 150], metrics.Select(m => m.Step));
        Assert.Equal(summary.ValLoss, metrics[^1].ValLoss);
        Assert.All(metrics, m => Assert.True(m.TokensPerSecond > 0 && m.TrainLoss > 0 && m.LearningRate > 0));
        Assert.True(File.Exists(Path.Combine(options.OutputDirectory, TrainingJob.SummaryFile)));
    }

    [Fact]
    public void A_tiny_llama_style_gpt_learns_generated_text_and_saves_no_bias_tensors()
    {
        var options = Options("llama", "norm=rmsnorm", "mlp=swiglu", "position=rope", "bias=false", "tie_embeddings=false", "feed_forward_size=64");

        var summary = TrainingJob.Run(options, new RecordingObserver(), _ => { });

        var chance = Math.Log(TokenizerFiles.Load(options.OutputDirectory).VocabSize);
        Assert.True(summary.ValLoss < 0.35 * chance, $"val loss {summary.ValLoss:F3} vs ln(vocab) {chance:F3}");
        var names = CheckpointStore.Load(options.OutputDirectory).ModelTensors.Select(t => t.Name).ToList();
        Assert.DoesNotContain(names, n => n.Contains("bias"));
        Assert.Contains("model.layers.1.mlp.gate_proj.weight", names);
        Assert.Contains("lm_head.weight", names);
    }

    [Fact]
    public void A_time_budget_stops_the_run_at_the_first_evaluation_after_it()
    {
        var options = Options("timed", "max_seconds=1e-6");

        var summary = TrainingJob.Run(options, new RecordingObserver(), _ => { });

        Assert.Equal(TestCorpus.TinyConfig.EvalInterval, summary.Steps);
        Assert.False(summary.Interrupted);
        Assert.Equal([TestCorpus.TinyConfig.EvalInterval], MetricsLog.Read(options.OutputDirectory).Select(m => m.Step));
    }

    [Fact]
    public void Two_micro_batches_per_step_follow_the_trajectory_of_whole_batches()
    {
        string[] overrides = ["max_steps=60", "eval_interval=30"];
        var whole = TrainingJob.Run(Options("whole", overrides), new RecordingObserver(), _ => { });

        var accumulated = TrainingJob.Run(Options("accumulated", [.. overrides, "grad_accum_steps=2"]), new RecordingObserver(), _ => { });

        // Dropout 0: the same mean gradient each step, up to float rounding, so the same run.
        Assert.Equal(whole.ValLoss, accumulated.ValLoss, 1e-4 * whole.ValLoss);
        Assert.Equal(whole.TrainLoss, accumulated.TrainLoss, 1e-4 * whole.TrainLoss);
        // batch_size is still the step's batch: the same tokens are counted per step.
        var tokens = 60L * TestCorpus.TinyConfig.BatchSize * TestCorpus.TinyConfig.MaxSequenceLength;
        Assert.Equal(tokens, TrainingState.FromJson(CheckpointStore.Load(Path.Combine(_directory.FullName, "accumulated")).StateJson).Tokens);
    }

    [Fact]
    public void Eval_batches_estimate_the_full_validation_loss_without_changing_training()
    {
        string[] overrides = ["max_steps=60", "eval_interval=30"];
        var every = new RecordingObserver();
        TrainingJob.Run(Options("every", overrides), every, _ => { });

        var sampled = new RecordingObserver();
        TrainingJob.Run(Options("sampled", [.. overrides, "eval_batches=100"]), sampled, _ => { });
        var again = new RecordingObserver();
        TrainingJob.Run(Options("again", [.. overrides, "eval_batches=100"]), again, _ => { });

        Assert.Equal(every.Losses, sampled.Losses);
        Assert.Equal(sampled.Evaluations.Select(e => e.ValLoss), again.Evaluations.Select(e => e.ValLoss));
        Assert.All(every.Evaluations.Zip(sampled.Evaluations), pair => Assert.Equal(pair.First.ValLoss, pair.Second.ValLoss, 0.05 * pair.First.ValLoss));
        Assert.NotEqual(every.Evaluations.Select(e => e.ValLoss), sampled.Evaluations.Select(e => e.ValLoss));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_resumed_run_repeats_the_uninterrupted_run_exactly(int gradAccumSteps)
    {
        // Dropout on, so the resumed run must also restore the dropout-mask generator.
        string[] overrides = ["dropout=0.1", "max_steps=40", "eval_interval=10", $"grad_accum_steps={gradAccumSteps}"];
        var straight = new RecordingObserver();
        var whole = TrainingJob.Run(Options("straight", overrides), straight, _ => { });

        using var interrupt = new CancellationTokenSource();
        var first = new RecordingObserver(e => { if (e.Step == 20) { interrupt.Cancel(); } });
        var stopped = TrainingJob.Run(Options("resumed", overrides), first, _ => { }, interrupt.Token);
        Assert.True(stopped.Interrupted);
        Assert.Equal(20, stopped.Steps);

        var second = new RecordingObserver();
        var resumedOptions = Options("resumed", overrides) with { ConfigPath = null };
        var resumed = TrainingJob.Run(resumedOptions with { ResumeDirectory = resumedOptions.OutputDirectory }, second, _ => { });

        Assert.Equal(straight.Losses, first.Losses.Concat(second.Losses));
        Assert.Equal(whole.ValLoss, resumed.ValLoss);
        var a = CheckpointStore.Load(Path.Combine(_directory.FullName, "straight")).ModelTensors;
        var b = CheckpointStore.Load(Path.Combine(_directory.FullName, "resumed")).ModelTensors;
        Assert.Equal(a.Select(t => t.Data.ToArray()), b.Select(t => t.Data.ToArray()));
    }

    [Fact]
    public void Evaluating_a_checkpoint_reproduces_the_runs_validation_loss()
    {
        var options = Options("run", "max_steps=60", "eval_interval=60");
        var summary = TrainingJob.Run(options, new RecordingObserver(), _ => { });
        var text = File.ReadAllText(options.Data);

        var every = CheckpointEvaluation.Run(options.OutputDirectory, text, batches: 0, seed: 1, threads: 1);
        var estimate = CheckpointEvaluation.Run(options.OutputDirectory, text, batches: 200, seed: 1, threads: 1);

        Assert.Equal(summary.ValLoss, every.ValLoss, 1e-6);
        Assert.True(every.TrainWindows > every.ValWindows);
        Assert.Equal(200 * TestCorpus.TinyConfig.BatchSize, estimate.ValWindows);
        // Random windows of the same text score about the same as the grid of every window.
        Assert.Equal(every.ValLoss, estimate.ValLoss, 0.05 * every.ValLoss);
        Assert.Equal(every.TrainLoss, estimate.TrainLoss, 0.05 * every.TrainLoss);
    }

    [Fact]
    public void Resuming_refuses_a_different_activation()
    {
        var options = Options("run", "max_steps=10", "eval_interval=10");
        TrainingJob.Run(options, new RecordingObserver(), _ => { });

        var error = Assert.Throws<ConfigException>(() => TrainingJob.Run(
            options with { ConfigPath = null, ResumeDirectory = options.OutputDirectory, Overrides = ["max_steps=20", "activation=relu"] },
            new RecordingObserver(), _ => { }));
        Assert.Contains("--set activation=relu would change the model", error.Message);
        Assert.DoesNotContain("max_steps", error.Message);   // only the override to blame is named
    }

    [Fact]
    public void A_corrupted_checkpoint_is_refused_when_resuming()
    {
        var options = Options("run", "max_steps=10", "eval_interval=10");
        TrainingJob.Run(options, new RecordingObserver(), _ => { });
        var weights = Path.Combine(options.OutputDirectory, CheckpointStore.ModelFile);
        var bytes = File.ReadAllBytes(weights);
        bytes[^5] ^= 0x40;
        File.WriteAllBytes(weights, bytes);

        var error = Assert.Throws<CheckpointException>(() => TrainingJob.Run(
            options with { ConfigPath = null, ResumeDirectory = options.OutputDirectory }, new RecordingObserver(), _ => { }));
        Assert.Contains(CheckpointStore.ModelFile, error.Message);
    }
}

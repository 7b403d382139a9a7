using Distributed.Models.Checkpoints;
using Distributed.Models.DataParallel;
using Distributed.Models.Gpt;
using Distributed.Models.Runtime;
using Distributed.Models.Training;
using Distributed.Models;

namespace Distributed.Tests.Cluster;

/// <summary>The data-parallel gold test: W workers x batch B behave as one worker x batch W*B.</summary>
public sealed class DistributedEquivalenceTests : IDisposable
{
    private readonly ClusterRun _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public void Averaged_gradients_of_two_half_batches_equal_the_gradient_of_the_whole_batch()
    {
        var config = _run.Config with { VocabSize = 20 };
        var replica = new ModelReplica(config);
        var rng = new Rng(9);
        var tokens = Enumerable.Range(0, 8 * 9).Select(_ => (long)rng.NextInt(20)).ToArray();
        var whole = Gradient(config, replica.Parameters, tokens, 8);
        var first = Gradient(config, replica.Parameters, tokens[..(4 * 9)], 4);
        var second = Gradient(config, replica.Parameters, tokens[(4 * 9)..], 4);

        var averaged = new float[whole.Length];
        GradientAverage.WeightedSum([first, second], [new DataParallelLayout(2, 8).WeightOf(0), new DataParallelLayout(2, 8).WeightOf(1)], 0, averaged);

        var error = Math.Sqrt(averaged.Zip(whole, (a, b) => (double)(a - b) * (a - b)).Sum());
        var norm = Math.Sqrt(whole.Sum(v => (double)v * v));
        Assert.True(error / norm <= 1e-5, $"relative error {error / norm:E2}");
    }

    private static float[] Gradient(GptConfig config, FlatBuffer parameters, long[] windows, int batch)
    {
        var gradients = new FlatBuffer(parameters.Layout);
        using var session = new GptTrainingSession(config with { BatchSize = batch }, parameters, gradients, threads: 1);
        var length = config.MaxSequenceLength;
        for (var row = 0; row < batch; row++)
        {
            for (var t = 0; t < length; t++)
            {
                session.Inputs[row * length + t] = windows[row * (length + 1) + t];
                session.Targets[row * length + t] = windows[row * (length + 1) + t + 1];
            }
        }
        session.ComputeGradients(new Rng(1));
        return gradients.Data;
    }

    [Fact]
    public async Task Sgd_across_two_worker_processes_matches_one_process_and_repeats_bit_for_bit()
    {
        string[] overrides = ["optimizer=sgd", "grad_clip=0", "weight_decay=0", "max_steps=6", "eval_interval=2", "learning_rate=0.05", "warmup_steps=0"];
        TrainingJob.Run(new TrainingJobOptions
        {
            ConfigPath = _run.ConfigPath, Overrides = overrides, Data = _run.DataPath, OutputDirectory = _run.Folder("single"), Threads = 1,
        }, new Training.RecordingObserver(), _ => { });

        foreach (var (output, workers) in new[] { ("one", 1), ("two-a", 2), ("two-b", 2) })
        {
            using var coordinator = ClusterProcess.Coordinator(_run.Token, ["train", "--workers", workers.ToString(), .. _run.RunArguments(output, overrides)]);
            Assert.True(await coordinator.WaitForExit(TimeSpan.FromSeconds(90)) == 0, coordinator.Output);
        }

        var single = Weights("single");
        foreach (var output in new[] { "one", "two-a" })
        {
            var worst = single.Zip(Weights(output), (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst <= 1e-5, $"{output}: largest parameter difference from single-process training {worst:E2}");
        }
        Assert.Equal(Weights("two-a"), Weights("two-b"));
        // One step schedule: the same config evaluates at the same steps, to the same loss, with or without --workers.
        var rows = new[] { "single", "one", "two-a" }.Select(o => MetricsLog.Read(_run.Folder(o))).ToArray();
        Assert.All(rows, r => Assert.Equal([2, 4, 6], r.Select(e => e.Step)));
        Assert.All(rows, r => Assert.Equal(rows[0].Select(e => e.ValLoss), r.Select(e => e.ValLoss), (a, b) => Math.Abs(a - b) <= 1e-5 * a));
    }

    [Fact]
    public async Task Two_workers_of_two_micro_batches_and_sampled_evaluations_report_the_single_process_val_loss()
    {
        string[] overrides = ["optimizer=sgd", "grad_clip=0", "weight_decay=0", "max_steps=4", "eval_interval=2", "learning_rate=0.05", "warmup_steps=0",
            "eval_batches=20"];
        foreach (var (output, accumulation) in new[] { ("whole", 1), ("accumulated", 2) })
        {
            TrainingJob.Run(new TrainingJobOptions
            {
                ConfigPath = _run.ConfigPath, Overrides = [.. overrides, $"grad_accum_steps={accumulation}"], Data = _run.DataPath,
                OutputDirectory = _run.Folder(output), Threads = 1,
            }, new Training.RecordingObserver(), _ => { });
        }

        using var coordinator = ClusterProcess.Coordinator(_run.Token,
            ["train", "--workers", "2", .. _run.RunArguments("two", [.. overrides, "grad_accum_steps=2"])]);
        Assert.True(await coordinator.WaitForExit(TimeSpan.FromSeconds(90)) == 0, coordinator.Output);

        // Dropout 0 and the same sampled windows at each evaluation: one trajectory, one val loss, up to float rounding.
        var rows = new[] { "whole", "accumulated", "two" }.Select(o => MetricsLog.Read(_run.Folder(o))).ToArray();
        Assert.All(rows, r => Assert.Equal([2, 4], r.Select(e => e.Step)));
        Assert.All(rows, r => Assert.Equal(rows[0].Select(e => e.ValLoss), r.Select(e => e.ValLoss), (a, b) => Math.Abs(a - b) <= 1e-5 * a));
        var worst = Weights("whole").Zip(Weights("two"), (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 1e-5, $"largest parameter difference from single-process training {worst:E2}");
    }

    [Fact]
    public async Task Shared_memory_tcp_and_grpc_train_the_same_weights_and_bf16_on_the_wire_stays_within_half_a_percent()
    {
        string[] overrides = ["max_steps=6", "eval_interval=3", "warmup_steps=0"];
        foreach (var (output, extra, transport) in new[]
                 {
                     ("shared", Array.Empty<string>(), "auto"), ("tcp", [], "tcp"), ("grpc", [], "grpc"), ("bf16", ["allreduce_dtype=bf16"], "grpc"),
                 })
        {
            using var coordinator = ClusterProcess.Coordinator(_run.Token,
                ["train", "--workers", "2", "--transport", transport, .. _run.RunArguments(output, [.. overrides, .. extra])]);
            Assert.True(await coordinator.WaitForExit(TimeSpan.FromSeconds(90)) == 0, coordinator.Output);
            var log = File.ReadAllText(Path.Combine(_run.Folder(output), "logs", "coordinator.log"));
            Assert.Contains($"gradients over {(transport == "auto" ? "shared-memory" : transport)}", log);
        }

        // The same sums in the same order, whichever way the values travel: the same bits.
        Assert.Equal(Weights("shared"), Weights("grpc"));
        Assert.Equal(Weights("tcp"), Weights("grpc"));
        var fp32 = MetricsLog.Read(_run.Folder("grpc")).Select(e => e.ValLoss).ToArray();
        var bf16 = MetricsLog.Read(_run.Folder("bf16")).Select(e => e.ValLoss).ToArray();
        Assert.Equal(fp32.Length, bf16.Length);
        Assert.All(fp32.Zip(bf16), pair => Assert.True(Math.Abs(pair.First - pair.Second) <= 0.005 * pair.First, $"fp32 {pair.First} vs bf16 {pair.Second}"));
        Assert.NotEqual(Weights("grpc"), Weights("bf16"));   // bf16 really went over the wire
    }

    private float[] Weights(string output)
        => CheckpointStore.Load(_run.Folder(output)).ModelTensors.SelectMany(t => t.Data.ToArray()).ToArray();
}

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
        GradientAverage.WeightedSum([first, second], [new DataParallelLayout(2, 8).WeightOf(0), new DataParallelLayout(2, 8).WeightOf(1)], averaged);

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

    private float[] Weights(string output)
        => CheckpointStore.Load(_run.Folder(output)).ModelTensors.SelectMany(t => t.Data.ToArray()).ToArray();
}

using Distributed.Coordinator.Commands;
using Distributed.Coordinator.Distributed;
using Distributed.Models.Runtime;
using Distributed.Tests.Cluster;

namespace Distributed.Tests.Coordinator;

/// <summary>
/// `train --workers N --devices cuda:0,...` pins one GPU per local worker (worker K gets --device cuda:K), and is
/// refused in one line, before any data is read, when the list cannot work: wrong length, an entry that is not
/// cuda:K, a GPU named twice, or a CPU build (the message says how to build for GPU). No GPU exists here.
/// </summary>
public class LocalDevicesTests
{
    private const string BuildForGpu = "`dotnet build -c Release -p:OnnxRuntimeGpu=true`";

    [Fact]
    public void Without_devices_every_worker_stays_on_the_cpu()
    {
        Assert.Null(LocalDevices.Parse(null, 2));
        Assert.DoesNotContain("--device", LocalWorkers.Arguments(1, new Uri("http://127.0.0.1:5000"), 1, TimeSpan.FromSeconds(10)));
    }

    [Theory]
    [InlineData("cuda:0", 2, "--devices cuda:0 names 1 device for --workers 2: give one cuda:K per worker, e.g. --devices cuda:0,cuda:1.")]
    [InlineData("cuda:0,cuda:1,cuda:2", 2, "--devices cuda:0,cuda:1,cuda:2 names 3 devices for --workers 2: give one cuda:K per worker, e.g. --devices cuda:0,cuda:1.")]
    [InlineData("cuda:0,cuda:1", 0, "--devices cuda:0,cuda:1 needs local worker processes: pass --workers 2 (one worker per device) with it.")]
    [InlineData("cuda:0,gpu1", 2, "--devices entry 'gpu1' is not cuda:K (K a GPU index); e.g. --devices cuda:0,cuda:1.")]
    [InlineData("cpu,cuda:1", 2, "--devices entry 'cpu' is not cuda:K (K a GPU index); e.g. --devices cuda:0,cuda:1.")]
    [InlineData("cuda:-1,cuda:1", 2, "--devices entry 'cuda:-1' is not cuda:K (K a GPU index); e.g. --devices cuda:0,cuda:1.")]
    [InlineData("cuda:,cuda:1", 2, "--devices entry 'cuda:' is not cuda:K (K a GPU index); e.g. --devices cuda:0,cuda:1.")]
    [InlineData("cuda:0,", 2, "--devices entry '' is not cuda:K (K a GPU index); e.g. --devices cuda:0,cuda:1.")]
    [InlineData("cuda:1,cuda:1", 2, "--devices cuda:1,cuda:1 names cuda:1 twice: each worker gets a GPU of its own; e.g. --devices cuda:0,cuda:1.")]
    public void A_device_list_that_cannot_work_is_refused_in_one_line(string devices, int workers, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => LocalDevices.Parse(devices, workers));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Each_worker_gets_its_own_gpu_on_a_gpu_build_and_a_cpu_build_says_how_to_build_for_gpu()
    {
        if (DeviceCheck.IsGpuBuild)
        {
            var devices = LocalDevices.Parse("cuda:0, cuda:1", 2)!;
            Assert.Equal(["cuda:0", "cuda:1"], devices);
            for (var k = 0; k < 2; k++)
            {
                var arguments = LocalWorkers.Arguments(k, new Uri("http://127.0.0.1:5000"), 1, TimeSpan.FromSeconds(10), devices);
                Assert.Equal($"cuda:{k}", arguments[arguments.ToList().IndexOf("--device") + 1]);
            }
            Assert.Null(DeviceCheck.Problem("cuda:3"));
        }
        else
        {
            var error = Assert.Throws<ArgumentException>(() => LocalDevices.Parse("cuda:0,cuda:1", 2));
            Assert.StartsWith("--devices cuda:0,cuda:1: this build has only ONNX Runtime's CPU execution provider. Build for GPU with " + BuildForGpu, error.Message);
            Assert.EndsWith("or leave out --devices to train on the CPU.", error.Message);
            Assert.Contains(BuildForGpu, DeviceCheck.Problem("cuda:3"));
        }
        Assert.Null(DeviceCheck.Problem("cpu"));
        Assert.Equal("--device 'gpu' is not 'cpu' or 'cuda:K' (K a GPU index).", DeviceCheck.Problem("gpu"));
    }

    [Fact]
    public void Worker_arguments_pin_worker_k_to_the_kth_device()
    {
        string[] devices = ["cuda:1", "cuda:0"];
        var first = LocalWorkers.Arguments(0, new Uri("http://127.0.0.1:5000"), 4, TimeSpan.FromSeconds(10), devices);
        var second = LocalWorkers.Arguments(1, new Uri("http://127.0.0.1:5000"), 4, TimeSpan.FromSeconds(10), devices);
        Assert.Equal(["--coordinator", "http://127.0.0.1:5000/", "--threads", "4", "--name", "worker-0", "--timeout", "10", "--rejoin-timeout", "0", "--ignore-sigint", "--device", "cuda:1"], first);
        Assert.Equal(["--device", "cuda:0"], second.TakeLast(2));
    }

    /// <summary>The real programs: refused with exit code 2 and one line, before the (missing) data is looked at.</summary>
    [Fact]
    public async Task Train_with_devices_and_a_worker_with_a_cuda_device_are_refused_at_once_on_a_cpu_build()
    {
        using var run = new ClusterRun();
        var output = run.Folder("out");
        string[] train = ["train", "--config", run.ConfigPath, "--data", run.Folder("missing.txt"), "--out", output, "--workers", "2"];

        using (var mismatch = ClusterProcess.Coordinator(run.Token, [.. train, "--devices", "cuda:0"]))
        {
            Assert.Equal(2, await mismatch.WaitForExit(TimeSpan.FromSeconds(60)));
            Assert.Contains("Error: --devices cuda:0 names 1 device for --workers 2: give one cuda:K per worker, e.g. --devices cuda:0,cuda:1." + Environment.NewLine,
                mismatch.Output);
        }
        if (DeviceCheck.IsGpuBuild)
        {
            return;   // a GPU build would start the workers on cuda:0 and cuda:1; none exists here
        }
        using (var cpuBuild = ClusterProcess.Coordinator(run.Token, [.. train, "--devices", "cuda:0,cuda:1"]))
        {
            Assert.Equal(2, await cpuBuild.WaitForExit(TimeSpan.FromSeconds(60)));
            var line = Assert.Single(cpuBuild.Output.Split(Environment.NewLine), l => l.StartsWith("Error:", StringComparison.Ordinal));
            Assert.Equal("Error: " + Assert.Throws<ArgumentException>(() => LocalDevices.Parse("cuda:0,cuda:1", 2)).Message, line);
            Assert.Contains(BuildForGpu, line);
        }
        using (var worker = ClusterProcess.Worker(run.Token, "http://127.0.0.1:1", 0, "w", "--device", "cuda:0"))
        {
            Assert.Equal(2, await worker.WaitForExit(TimeSpan.FromSeconds(60)));
            Assert.Contains("worker: --device cuda:0: this build has only ONNX Runtime's CPU execution provider. Build for GPU with " + BuildForGpu, worker.Output);
        }
        Assert.False(Directory.Exists(output), $"{output} was created");
    }
}

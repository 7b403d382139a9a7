using System.Diagnostics;
using Distributed.Protocol;

namespace Distributed.Coordinator.Distributed;

/// <summary>
/// `train --workers N`: N worker processes on this machine (like torchrun --nproc_per_node), each
/// with its share of the CPU threads (and, given devices, its own GPU: --device cuda:K), logging to
/// &lt;out&gt;/logs/worker-K.log (with their /metrics address, when they serve one). Owns the processes.
/// </summary>
public sealed class LocalWorkers : IDisposable
{
    private readonly List<Process> _processes = [];
    private readonly List<StreamWriter> _logs = [];

    public LocalWorkers(int count, Uri coordinator, string token, int threadsEach, string logDirectory, TimeSpan timeout,
        IReadOnlyList<string>? devices = null, bool metrics = false)
    {
        Directory.CreateDirectory(logDirectory);
        var (program, prefix) = WorkerCommand();
        for (var k = 0; k < count; k++)
        {
            var start = new ProcessStartInfo(program)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in prefix.Concat(Arguments(k, coordinator, threadsEach, timeout, devices, metrics)))
            {
                start.ArgumentList.Add(argument);
            }
            start.Environment[RunToken.EnvironmentVariable] = token;
            var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
            _processes.Add(process);
            // Output can still arrive after the process has exited, so the log is closed only in Dispose.
            var log = new StreamWriter(Path.Combine(logDirectory, $"worker-{k}.log")) { AutoFlush = true };
            _logs.Add(log);
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }
    }

    public IReadOnlyList<Process> Processes => _processes;

    /// <summary>
    /// Worker <paramref name="k"/>'s command line: its coordinator, threads, name, timeout, (given devices) --device and (with
    /// <paramref name="metrics"/>) --metrics-port 0. No rejoining: a restarted `train` starts workers of its own, on another port and token.
    /// --ignore-sigint: a Ctrl+C reaches the workers too (one process group), but the launcher stops them, once one has sent
    /// its state for the checkpoint (the workers hold the run's state, not the coordinator).
    /// </summary>
    public static IReadOnlyList<string> Arguments(int k, Uri coordinator, int threadsEach, TimeSpan timeout, IReadOnlyList<string>? devices = null, bool metrics = false)
        => ["--coordinator", coordinator.ToString(), "--threads", threadsEach.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--name", $"worker-{k}", "--timeout", timeout.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "--rejoin-timeout", "0", "--ignore-sigint",
            .. devices is null ? [] : new[] { "--device", devices[k] },
            .. metrics ? new[] { "--metrics-port", "0" } : []];

    /// <summary>Waits for the workers to leave on their own, then kills any that did not.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        using var timeout = new CancellationTokenSource(grace);
        foreach (var process in _processes)
        {
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
            process.WaitForExit();   // also waits for the redirected output to be drained
            process.Dispose();
        }
        foreach (var log in _logs)
        {
            lock (log)
            {
                log.Dispose();
            }
        }
    }

    /// <summary>
    /// The worker build: in worker/ beside the coordinator (where its build copies it), or beside it
    /// (an output folder that references both programs, as the tests' does). Its apphost, else `dotnet worker.dll`.
    /// </summary>
    private static (string Program, string[] Prefix) WorkerCommand()
    {
        foreach (var directory in new[] { Path.Combine(AppContext.BaseDirectory, "worker"), AppContext.BaseDirectory })
        {
            var apphost = Path.Combine(directory, OperatingSystem.IsWindows() ? "worker.exe" : "worker");
            if (File.Exists(apphost))
            {
                return (apphost, []);
            }
            var dll = Path.Combine(directory, "worker.dll");
            if (File.Exists(dll))
            {
                return ("dotnet", [dll]);
            }
        }
        throw new FileNotFoundException($"The worker build is missing from {Path.Combine(AppContext.BaseDirectory, "worker")}; build the solution (dotnet build Distributed.sln -c Release).");
    }
}

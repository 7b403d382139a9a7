using System.Diagnostics;
using System.Net.Sockets;
using System.Net;
using System.Text.RegularExpressions;
using System.Text;
using Distributed.Protocol;

namespace Distributed.Tests.Cluster;

/// <summary>
/// A real coordinator or worker process started from the build next to the tests, with its output
/// captured so a test can wait for a line. Killed on dispose.
/// </summary>
internal sealed class ClusterProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ClusterProcess(string program, IEnumerable<string> arguments, string token, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, program + ".dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment[RunToken.EnvironmentVariable] = token;
        start.Environment["NO_COLOR"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static ClusterProcess Coordinator(string token, params string[] arguments) => new("coordinator", arguments, token);

    /// <summary>"coordinator" or "worker" with these variables set (e.g. a launcher's MASTER_ADDR and RANK) and only these arguments.</summary>
    public static ClusterProcess Start(string program, string token, IReadOnlyDictionary<string, string> environment, params string[] arguments)
        => new(program, arguments, token, environment);

    public static ClusterProcess Worker(string token, int coordinatorPort, int healthPort, string name, params string[] extra)
        => Worker(token, $"http://127.0.0.1:{coordinatorPort}", healthPort, name, extra);

    public static ClusterProcess Worker(string token, string coordinator, int healthPort, string name, params string[] extra)
        => new("worker", ["--coordinator", coordinator, "--health-port", healthPort.ToString(), "--threads", "1", "--name", name, .. extra], token);

    public string Output { get { lock (_output) { return _output.ToString(); } } }

    public bool HasExited => _process.HasExited;

    public int ProcessId => _process.Id;

    public int ExitCode => _process.ExitCode;

    /// <summary>Waits until the output matches <paramref name="pattern"/>; fails the test with the output on timeout.</summary>
    public async Task<Match> WaitFor(string pattern, TimeSpan timeout)
    {
        var regex = new Regex(pattern);
        var giveUp = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < giveUp)
        {
            var match = regex.Match(Output);
            if (match.Success)
            {
                return match;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"No '{pattern}' within {timeout.TotalSeconds} s. Output:\n{Output}");
    }

    public async Task<int> WaitForExit(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Still running after {timeout.TotalSeconds} s. Output:\n{Output}");
        }
        return _process.ExitCode;
    }

    /// <summary>kill -TERM: how Kubernetes, systemd and `docker stop` ask a process to stop.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()])!;
        if (!kill.WaitForExit(TimeSpan.FromSeconds(10)) || kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -TERM {_process.Id} failed. Output:\n{Output}");
        }
    }

    /// <summary>kill -9.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        _process.Dispose();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}

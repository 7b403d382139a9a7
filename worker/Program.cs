using System.CommandLine;
using System.Net;
using Distributed.Models.Runtime;
using Distributed.Protocol;
using Distributed.Worker;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;

var coordinator = new Option<string?>("--coordinator")
{
    Description = "The coordinator's address, e.g. http://10.0.0.1:5000, or https://HOST:PORT when it serves TLS (default: MASTER_ADDR and MASTER_PORT, https with --ca or --tls-cert).",
};
var token = new Option<string?>("--token") { Description = $"The run's shared token (default: ${RunToken.EnvironmentVariable})." };
var healthPort = new Option<int>("--health-port") { Description = "Port of this worker's grpc.health.v1 service (0: any free port).", DefaultValueFactory = _ => 0 };
var healthBind = new Option<string>("--health-bind")
{
    Description = "Address of the health service and of --metrics-port (0.0.0.0 for probes and scrapes from outside, e.g. Kubernetes).", DefaultValueFactory = _ => "127.0.0.1",
};
var metricsPort = new Option<int?>("--metrics-port")
{
    Description = "Serve Prometheus metrics at http://ADDR:P/metrics in cleartext HTTP/1.1 on --health-bind (0: any free port; default: none).",
};
var device = new Option<string>("--device") { Description = "cpu, or cuda:K on a GPU build.", DefaultValueFactory = _ => "cpu" };
var threads = new Option<int>("--threads") { Description = "ONNX Runtime threads (0: every core).", DefaultValueFactory = _ => 0 };
var name = new Option<string?>("--name") { Description = "Name in the coordinator's logs (default: HOST:PID, or HOST:rankR when RANK is set)." };
var timeout = new Option<double>("--timeout") { Description = "Seconds to keep trying to join.", DefaultValueFactory = _ => 10 };
var rejoinTimeout = new Option<double>("--rejoin-timeout")
{
    Description = "Seconds to keep trying to join again when the coordinator vanishes or is restarted (it resumes with serve --resume auto); 0: exit at once.",
    DefaultValueFactory = _ => 120,
};
var ca = new Option<string?>("--ca") { Description = "PEM CA file to trust for an https:// coordinator's certificate instead of the system's roots." };
var tlsCert = new Option<string?>("--tls-cert") { Description = "PEM client certificate, for a coordinator started with --client-ca." };
var tlsKey = new Option<string?>("--tls-key") { Description = "PEM private key of --tls-cert." };
var transport = new Option<string>("--transport")
{
    Description = "Data plane for gradients: auto (shared memory on the coordinator's host, else raw TCP if offered, else gRPC), grpc, or shared-memory or tcp (no fallback).",
    DefaultValueFactory = _ => "auto",
};
transport.AcceptOnlyFromAmong("auto", "grpc", "shared-memory", "tcp");
var ignoreSigint = new Option<bool>("--ignore-sigint")
{
    Description = "Ignore SIGINT (a terminal's Ctrl+C) and stop on SIGTERM or the coordinator's word only: for workers that a launcher started (train --workers N), which stops them through the run once their state is checkpointed.",
};
var root = new RootCommand("A data-parallel GPT training worker: joins a coordinator and trains its shard.")
{
    coordinator, token, healthPort, healthBind, metricsPort, device, threads, name, timeout, rejoinTimeout, ca, tlsCert, tlsKey, transport, ignoreSigint,
};
root.SetAction(async (result, cancel) =>
{
    // From the start: a stop at any moment, even while joining, ends with exit 0.
    using var stop = StopSignal.Listen(cancel, interrupt: !result.GetValue(ignoreSigint));
    var secret = result.GetValue(token) ?? Environment.GetEnvironmentVariable(RunToken.EnvironmentVariable);
    if (string.IsNullOrEmpty(secret))
    {
        Console.Error.WriteLine($"worker: no run token; pass --token SECRET or set {RunToken.EnvironmentVariable} to the coordinator's token.");
        return 2;
    }
    WorkerLaunch launch;
    try
    {
        // The launch contract fills in what the command line leaves out (a PyTorchJob's Workers run unchanged).
        launch = LaunchContract.FromEnvironment().ForWorker(result.GetValue(coordinator), result.GetValue(name),
            tls: result.GetValue(ca) is not null || result.GetValue(tlsCert) is not null, Environment.MachineName, Environment.ProcessId);
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine($"worker: {e.Message}");
        return 2;
    }
    if (!Uri.TryCreate(launch.Coordinator, UriKind.Absolute, out var coordinatorUri) || coordinatorUri.Scheme is not ("http" or "https"))
    {
        Console.Error.WriteLine($"worker: --coordinator '{launch.Coordinator}' is not an address like http://HOST:PORT.");
        return 2;
    }
    ClientTls? tls;
    try
    {
        tls = TlsOptions(coordinatorUri, result.GetValue(ca), result.GetValue(tlsCert), result.GetValue(tlsKey));
    }
    catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException)
    {
        Console.Error.WriteLine($"worker: {e.Message}");
        return 2;
    }
    if (result.GetValue(threads) < 0)
    {
        Console.Error.WriteLine($"worker: --threads {result.GetValue(threads)} is negative; pass 0 (every core) or a thread count.");
        return 2;
    }
    if (result.GetValue(rejoinTimeout) is var rejoin && (rejoin < 0 || !double.IsFinite(rejoin)))
    {
        Console.Error.WriteLine($"worker: --rejoin-timeout {rejoin} must be a number of seconds >= 0 (0: exit when the coordinator is lost), e.g. --rejoin-timeout 300.");
        return 2;
    }
    var deviceName = result.GetValue(device)!;
    if (DeviceCheck.Problem(deviceName) is { } problem)
    {
        Console.Error.WriteLine($"worker: {problem}");
        return 2;
    }
    SessionFactory.CudaDevice = DeviceCheck.CudaIndex(deviceName);
    var options = new WorkerOptions
    {
        Coordinator = coordinatorUri,
        Token = secret,
        Tls = tls,
        Name = launch.Name,
        Threads = WorkerOptions.ThreadsFor(result.GetValue(threads), Environment.ProcessorCount),
        Device = deviceName,
        Transport = result.GetValue(transport) switch { "grpc" => WorkerTransport.Grpc, "shared-memory" => WorkerTransport.SharedMemory, "tcp" => WorkerTransport.Tcp, _ => WorkerTransport.Auto },
        Timeout = TimeSpan.FromSeconds(result.GetValue(timeout)),
        RejoinTimeout = TimeSpan.FromSeconds(result.GetValue(rejoinTimeout)),
    };

    if (!IPAddress.TryParse(result.GetValue(healthBind), out var healthAddress))
    {
        Console.Error.WriteLine($"worker: --health-bind {result.GetValue(healthBind)} is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for probes from outside).");
        return 2;
    }
    if (result.GetValue(metricsPort) is { } metricsAt && (metricsAt is < 0 or > 65535 || (metricsAt != 0 && metricsAt == result.GetValue(healthPort))))
    {
        Console.Error.WriteLine($"worker: --metrics-port {metricsAt} must be a port from 1 to 65535 other than --health-port, or 0 for any free one; e.g. --metrics-port 9090.");
        return 2;
    }
    var builder = WebApplication.CreateSlimBuilder();
    builder.Logging.ClearProviders();
    builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
    builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning)
        // A failed start throws as well, and is reported below in one line rather than as a logged stack trace.
        .AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
    builder.WebHost.ConfigureKestrel(k => k.Listen(healthAddress, result.GetValue(healthPort), l => l.Protocols = HttpProtocols.Http2));
    var health = new WorkerHealth();
    var metrics = new WorkerMetrics();
    builder.Services.AddSingleton(options).AddSingleton(health).AddSingleton(metrics).AddSingleton<WorkerLoop>();
    builder.Services.AddGrpc();
    builder.Services.AddGrpcHealthChecks(o => o.Services.Map(HealthServices.Liveness, check => check.Name == HealthServices.Liveness))
        .AddCheck(HealthServices.Liveness, () => HealthCheckResult.Healthy()).AddCheck("worker", health);
    var app = builder.Build();
    app.MapGrpcHealthChecksService();
    try
    {
        await app.StartAsync(cancel);
    }
    catch (IOException e) when (e.InnerException is AddressInUseException)
    {
        Console.Error.WriteLine($"worker: --health-port {result.GetValue(healthPort)} is in use; pick another port or 0 for any free one");
        return 2;
    }
    var log = app.Services.GetRequiredService<ILogger<WorkerLoop>>();
    log.LogInformation("Health service on {Addresses}", string.Join(", ", app.Urls));
    MetricsListener? metricsListener = null;
    try
    {
        metricsListener = result.GetValue(metricsPort) is { } port
            ? await MetricsListener.StartAsync(healthAddress, port, metrics.Registry, "--metrics-port", cancel)
            : null;
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine($"worker: {e.Message}");
        await app.StopAsync(CancellationToken.None);
        return 2;
    }
    await using var scrapes = metricsListener;
    if (metricsListener is not null)
    {
        log.LogInformation("Metrics: {Url}", metricsListener.Url);
    }
    try
    {
        return await app.Services.GetRequiredService<WorkerLoop>().RunAsync(stop);
    }
    catch (WorkerStartException e)
    {
        Console.Error.WriteLine($"worker: {e.Message}");
        return 2;
    }
    catch (CoordinatorLostException e)
    {
        log.LogError("Lost the coordinator: {Reason}. Exiting; start the coordinator again with --resume auto, and this worker, to go on.", e.Message);
        return 3;
    }
    catch (Grpc.Core.RpcException e)
    {
        log.LogError("The coordinator refused this worker: {Status} {Detail}", e.StatusCode, e.Status.Detail);
        return 2;
    }
    finally
    {
        await app.StopAsync(CancellationToken.None);
    }
});
// SIGTERM and Ctrl+C are handled by StopSignal (the worker leaves the run): System.CommandLine would otherwise
// end the process with code 130 or 143 two seconds after the signal, before it has left.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

// --ca, --tls-cert and --tls-key, read before anything starts so a bad file is one line, not a failed handshake.
static ClientTls? TlsOptions(Uri coordinator, string? caFile, string? certificateFile, string? keyFile)
{
    if ((certificateFile is null) != (keyFile is null))
    {
        throw new ArgumentException("a client certificate needs both --tls-cert FILE.pem and --tls-key FILE.pem.");
    }
    if (coordinator.Scheme != Uri.UriSchemeHttps)
    {
        return caFile is null && certificateFile is null
            ? null
            : throw new ArgumentException($"--ca, --tls-cert and --tls-key are for a coordinator serving TLS: use --coordinator https://{coordinator.Authority}.");
    }
    return new ClientTls
    {
        TrustedCa = caFile is null ? null : TlsFiles.LoadCertificates(caFile, "--ca"),
        Certificate = certificateFile is null ? null : TlsFiles.LoadCertificate(certificateFile, keyFile!, "--tls-cert", "--tls-key").Certificate,
    };
}

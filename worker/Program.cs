using System.CommandLine;
using System.Net;
using Distributed.Protocol;
using Distributed.Worker;
using Microsoft.AspNetCore.Server.Kestrel.Core;

var coordinator = new Option<string>("--coordinator") { Description = "The coordinator's address, e.g. http://10.0.0.1:5000.", Required = true };
var token = new Option<string?>("--token") { Description = $"The run's shared token (default: ${RunToken.EnvironmentVariable})." };
var healthPort = new Option<int>("--health-port") { Description = "Port of this worker's grpc.health.v1 service (0: any free port).", DefaultValueFactory = _ => 0 };
var device = new Option<string>("--device") { Description = "cpu, or cuda:K on a GPU build.", DefaultValueFactory = _ => "cpu" };
var threads = new Option<int>("--threads") { Description = "ONNX Runtime threads (0: every core).", DefaultValueFactory = _ => 0 };
var name = new Option<string>("--name") { Description = "Name in the coordinator's logs.", DefaultValueFactory = _ => $"{Environment.MachineName}:{Environment.ProcessId}" };
var timeout = new Option<double>("--timeout") { Description = "Seconds to keep trying to join.", DefaultValueFactory = _ => 10 };
var root = new RootCommand("A data-parallel GPT training worker: joins a coordinator and trains its shard.")
{
    coordinator, token, healthPort, device, threads, name, timeout,
};
root.SetAction(async (result, cancel) =>
{
    // From the start: a stop at any moment, even while joining, ends with exit 0.
    using var stop = StopSignal.Listen(cancel);
    var secret = result.GetValue(token) ?? Environment.GetEnvironmentVariable(RunToken.EnvironmentVariable);
    if (string.IsNullOrEmpty(secret))
    {
        Console.Error.WriteLine($"worker: no run token; pass --token SECRET or set {RunToken.EnvironmentVariable} to the coordinator's token.");
        return 2;
    }
    if (!Uri.TryCreate(result.GetValue(coordinator), UriKind.Absolute, out var coordinatorUri) || coordinatorUri.Scheme is not ("http" or "https"))
    {
        Console.Error.WriteLine($"worker: --coordinator '{result.GetValue(coordinator)}' is not an address like http://HOST:PORT.");
        return 2;
    }
    var deviceName = result.GetValue(device)!;
    if (DeviceCheck.Problem(deviceName) is { } problem)
    {
        Console.Error.WriteLine($"worker: {problem}");
        return 2;
    }
    if (deviceName.StartsWith("cuda:", StringComparison.Ordinal))
    {
        Distributed.Models.Runtime.SessionFactory.CudaDevice = int.Parse(deviceName["cuda:".Length..]);
    }
    var options = new WorkerOptions
    {
        Coordinator = coordinatorUri,
        Token = secret,
        Name = result.GetValue(name)!,
        Threads = result.GetValue(threads),
        Device = deviceName,
        Timeout = TimeSpan.FromSeconds(result.GetValue(timeout)),
    };

    var builder = WebApplication.CreateSlimBuilder();
    builder.Logging.ClearProviders();
    builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
    builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning);
    builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Any, result.GetValue(healthPort), l => l.Protocols = HttpProtocols.Http2));
    var health = new WorkerHealth();
    builder.Services.AddSingleton(options).AddSingleton(health).AddSingleton<WorkerLoop>();
    builder.Services.AddGrpc();
    builder.Services.AddGrpcHealthChecks().AddCheck("worker", health);
    var app = builder.Build();
    app.MapGrpcHealthChecksService();
    await app.StartAsync(cancel);
    var log = app.Services.GetRequiredService<ILogger<WorkerLoop>>();
    log.LogInformation("Health service on {Addresses}", string.Join(", ", app.Urls));
    try
    {
        return await app.Services.GetRequiredService<WorkerLoop>().RunAsync(stop);
    }
    catch (CoordinatorLostException e)
    {
        log.LogError("Lost the coordinator: {Reason}. Exiting; restart this worker to rejoin, or resume the run with train --resume.", e.Message);
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

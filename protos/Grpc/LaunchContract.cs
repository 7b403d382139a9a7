using System.Globalization;
using System.Net;

namespace Distributed.Protocol;

/// <summary>
/// What PyTorch's launchers (Kubeflow's PyTorchJob, Kubeflow Trainer's torch runtime, torchrun-style
/// scripts, a Job with completionMode Indexed) tell every process through its environment, read and
/// checked in one place, and what `serve` and the worker make of it. An option given on the command
/// line is used as it is; the variables only fill in what the command line leaves out. Two variables
/// that name the same thing (MASTER_PORT and PET_MASTER_PORT, say) must agree.
/// </summary>
/// <remarks>
/// The world is PyTorch's: WORLD_SIZE processes, rank 0 the master. Here rank 0 is the coordinator,
/// which trains nothing, so serve waits for WORLD_SIZE - 1 workers. PyTorchJob sets MASTER_ADDR,
/// MASTER_PORT, WORLD_SIZE, RANK (0 for the Master, index + 1 for the Workers) and PET_NNODES,
/// PET_NODE_RANK; Trainer sets only the PET_ names; an Indexed Job sets JOB_COMPLETION_INDEX. One
/// process a pod: a PyTorchJob's nprocPerNode must be 1, or WORLD_SIZE and PET_NNODES disagree.
/// </remarks>
public sealed record LaunchContract
{
    public static readonly IReadOnlyList<string> MasterAddressVariables = ["MASTER_ADDR", "PET_MASTER_ADDR"];

    public static readonly IReadOnlyList<string> MasterPortVariables = ["MASTER_PORT", "PET_MASTER_PORT"];

    public static readonly IReadOnlyList<string> WorldSizeVariables = ["WORLD_SIZE", "PET_NNODES"];

    public static readonly IReadOnlyList<string> RankVariables = ["RANK", "PET_NODE_RANK", "JOB_COMPLETION_INDEX"];

    /// <summary>Host of rank 0, the coordinator: where workers connect.</summary>
    public LaunchValue<string>? MasterAddress { get; init; }

    /// <summary>Port of rank 0, the coordinator: where it listens and workers connect.</summary>
    public LaunchValue<int>? MasterPort { get; init; }

    /// <summary>Processes in the launch: the coordinator (rank 0) and its workers.</summary>
    public LaunchValue<int>? WorldSize { get; init; }

    /// <summary>This process's place in the launch; 0 is the coordinator's under PyTorch's numbering.</summary>
    public LaunchValue<int>? Rank { get; init; }

    public static LaunchContract FromEnvironment() => Read(Environment.GetEnvironmentVariable);

    /// <summary>Reads and checks the variables; a bad or conflicting value is an <see cref="ArgumentException"/> in one line naming the variable.</summary>
    /// <param name="variable">The environment: a variable's value, null (or empty) when it is not set.</param>
    public static LaunchContract Read(Func<string, string?> variable)
    {
        var contract = new LaunchContract
        {
            MasterAddress = First(variable, MasterAddressVariables, ParseHost, StringComparer.OrdinalIgnoreCase),
            MasterPort = First(variable, MasterPortVariables, ParsePort, EqualityComparer<int>.Default),
            WorldSize = First(variable, WorldSizeVariables, ParseWorldSize, EqualityComparer<int>.Default),
            Rank = First(variable, RankVariables, ParseRank, EqualityComparer<int>.Default),
        };
        if (contract is { Rank: { } rank, WorldSize: { } world } && rank.Value >= world.Value)
        {
            throw new ArgumentException($"{rank} is outside {world}: the ranks of {world.Variable} processes are 0 to {world.Value - 1}.");
        }
        return contract;
    }

    /// <summary>serve's --workers, --port and --bind: each as given (null: not on the command line), else from the launch, else its default.</summary>
    public ServeLaunch ForServe(int? workers, int? port, string? bind, int defaultPort, string defaultBind)
    {
        if (Rank is { Value: not 0 } rank)
        {
            throw new ArgumentException($"serve is rank 0 of a launch (the coordinator, a PyTorchJob's Master), but {rank}: start the worker on the ranks above 0.");
        }
        var used = new List<string>();
        var resolvedWorkers = workers ?? WorkersFromWorldSize(used);
        var resolvedPort = port ?? (MasterPort is { } masterPort ? Used(used, "--port", masterPort.Value, masterPort) : defaultPort);
        // A loopback MASTER_ADDR keeps the coordinator on this machine; any other name reaches it over the
        // network (a pod's name resolves to its own address), so it listens on every interface.
        var resolvedBind = bind ?? (MasterAddress is { } master
            ? Used(used, "--bind", IsLoopback(master.Value) ? LoopbackOf(master.Value) : IPAddress.Any.ToString(), master)
            : defaultBind);
        return new ServeLaunch(resolvedWorkers, resolvedPort, resolvedBind, used);
    }

    /// <summary>The worker's --coordinator and --name: each as given (null: not on the command line), else from the launch.</summary>
    /// <param name="tls">The worker was given --ca or --tls-cert: a coordinator named by the launch is https://.</param>
    public WorkerLaunch ForWorker(string? coordinator, string? name, bool tls, string host, int processId)
    {
        var resolvedName = name ?? (Rank is { } rank ? $"{host}:rank{rank.Value}" : $"{host}:{processId}");
        if (coordinator is not null)
        {
            return new WorkerLaunch(coordinator, resolvedName);
        }
        var (address, port) = (MasterAddress, MasterPort) switch
        {
            ({ } a, { } p) => (a.Value, p.Value),
            (null, null) => throw new ArgumentException(
                $"no coordinator: pass --coordinator http://HOST:PORT, or set {MasterAddressVariables[0]} and {MasterPortVariables[0]} to the coordinator's host and port."),
            ({ } a, null) => throw new ArgumentException(
                $"{a} names the coordinator's host but {MasterPortVariables[0]} (or {MasterPortVariables[1]}) is not set: set the port too, or pass --coordinator URL."),
            (null, { } p) => throw new ArgumentException(
                $"{p} names the coordinator's port but {MasterAddressVariables[0]} (or {MasterAddressVariables[1]}) is not set: set the host too, or pass --coordinator URL."),
        };
        var uri = new UriBuilder(tls ? Uri.UriSchemeHttps : Uri.UriSchemeHttp, address, port).Uri;
        return new WorkerLaunch(uri.GetLeftPart(UriPartial.Authority), resolvedName);
    }

    private int WorkersFromWorldSize(List<string> used)
    {
        if (WorldSize is not { } world)
        {
            throw new ArgumentException(
                $"serve needs the number of workers: pass --workers N, or set {WorldSizeVariables[0]} to the processes of the launch (the coordinator and its workers, e.g. 3 for 2 workers).");
        }
        if (world.Value < 2)
        {
            throw new ArgumentException($"{world} leaves no workers: it counts the coordinator (rank 0) and its workers, e.g. {world.Variable}=3 for 2 workers.");
        }
        return Used(used, "--workers", world.Value - 1, $"{world}, less the coordinator");
    }

    /// <summary>Notes that <paramref name="option"/> came from <paramref name="source"/>, and returns its value.</summary>
    private static T Used<T>(List<string> used, string option, T value, object source)
    {
        used.Add($"{option} {value} ({source})");
        return value;
    }

    private static bool IsLoopback(string host)
        => string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));

    private static string LoopbackOf(string host)
        => IPAddress.TryParse(host, out var ip) ? ip.ToString() : IPAddress.Loopback.ToString();

    /// <summary>The first variable that is set, checked against the others of <paramref name="names"/> that are set too.</summary>
    private static LaunchValue<T>? First<T>(Func<string, string?> variable, IReadOnlyList<string> names, Func<string, string, T> parse, IEqualityComparer<T> same)
    {
        LaunchValue<T>? first = null;
        foreach (var name in names)
        {
            if (variable(name) is not { Length: > 0 } text)
            {
                continue;
            }
            var value = new LaunchValue<T>(parse(name, text.Trim()), name);
            if (first is null)
            {
                first = value;
            }
            else if (!same.Equals(first.Value.Value, value.Value))
            {
                throw new ArgumentException($"{first} and {value} disagree: set one of them, or both to the same value.");
            }
        }
        return first;
    }

    private static string ParseHost(string name, string text)
        => Uri.CheckHostName(text.Trim('[', ']')) != UriHostNameType.Unknown
            ? text.Trim('[', ']')
            : throw new ArgumentException($"{name} '{text}' is not a host name or IP address: set it to the coordinator's host, e.g. {name}=gpt-coordinator or {name}=10.0.0.5.");

    private static int ParsePort(string name, string text)
        => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            ? port
            : throw new ArgumentException($"{name} '{text}' is not a port number (1 to 65535): set it to the coordinator's port, e.g. {name}=29500.");

    private static int ParseWorldSize(string name, string text)
        => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var size) && size >= 1
            ? size
            : throw new ArgumentException($"{name} '{text}' is not a number of processes: set it to the coordinator and its workers, e.g. {name}=3 for 2 workers (no MIN:MAX ranges).");

    private static int ParseRank(string name, string text)
        => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var rank)
            ? rank
            : throw new ArgumentException($"{name} '{text}' is not a rank: set it to this process's place in the launch, a whole number from 0 (the coordinator).");
}

/// <summary>One value of the launch and the variable it came from; shown as the variable's assignment, e.g. WORLD_SIZE=3.</summary>
public readonly record struct LaunchValue<T>(T Value, string Variable)
{
    public override string ToString() => $"{Variable}={Value}";
}

/// <summary>serve's options once the launch has filled them in; <paramref name="FromLaunch"/> says which it filled and from what, e.g. "--workers 2 (WORLD_SIZE=3, less the coordinator)".</summary>
public sealed record ServeLaunch(int Workers, int Port, string Bind, IReadOnlyList<string> FromLaunch);

/// <summary>The worker's options once the launch has filled them in.</summary>
public sealed record WorkerLaunch(string Coordinator, string Name);

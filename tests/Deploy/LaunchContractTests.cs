using Distributed.Protocol;

namespace Distributed.Tests.Deploy;

/// <summary>
/// The launch contract: each variable and its fallbacks, the command line winning over them, and a
/// bad or conflicting value refused in one line that names the variable.
/// </summary>
public sealed class LaunchContractTests
{
    private static LaunchContract Read(params (string Name, string Value)[] variables)
    {
        var environment = variables.ToDictionary(v => v.Name, v => v.Value);
        return LaunchContract.Read(name => environment.GetValueOrDefault(name));
    }

    private static ServeLaunch Serve(LaunchContract contract, int? workers = null, int? port = null, string? bind = null)
        => contract.ForServe(workers, port, bind, defaultPort: 0, defaultBind: "127.0.0.1");

    private static WorkerLaunch Worker(LaunchContract contract, string? coordinator = null, string? name = null, bool tls = false)
        => contract.ForWorker(coordinator, name, tls, "pod-a", 42);

    private static string Refusal(Action action)
    {
        var message = Assert.Throws<ArgumentException>(action).Message;
        Assert.DoesNotContain('\n', message);
        return message;
    }

    [Fact]
    public void Nothing_set_leaves_every_value_unknown_and_the_options_at_their_defaults()
    {
        var contract = Read();
        Assert.Equal(new LaunchContract(), contract);
        var serve = Serve(contract, workers: 2);
        Assert.Equal((2, 0, "127.0.0.1"), (serve.Workers, serve.Port, serve.Bind));
        Assert.Empty(serve.FromLaunch);
        Assert.Equal("pod-a:42", Worker(contract, coordinator: "http://c:1").Name);
    }

    [Theory]
    [InlineData("MASTER_ADDR")]
    [InlineData("PET_MASTER_ADDR")]
    public void Each_address_variable_names_the_coordinator_host(string variable)
    {
        var contract = Read((variable, "gpt-master-0"), ("MASTER_PORT", "29500"));
        Assert.Equal(new LaunchValue<string>("gpt-master-0", variable), contract.MasterAddress);
        Assert.Equal("http://gpt-master-0:29500", Worker(contract).Coordinator);
    }

    [Theory]
    [InlineData("MASTER_PORT")]
    [InlineData("PET_MASTER_PORT")]
    public void Each_port_variable_is_where_serve_listens_and_workers_connect(string variable)
    {
        var contract = Read(("MASTER_ADDR", "10.0.0.5"), (variable, "23456"));
        Assert.Equal(new LaunchValue<int>(23456, variable), contract.MasterPort);
        Assert.Equal(23456, Serve(contract, workers: 1).Port);
        Assert.Equal("http://10.0.0.5:23456", Worker(contract).Coordinator);
    }

    [Theory]
    [InlineData("WORLD_SIZE")]
    [InlineData("PET_NNODES")]
    public void Each_world_size_variable_counts_the_coordinator_so_serve_waits_for_one_fewer_workers(string variable)
    {
        var serve = Serve(Read((variable, "3")));
        Assert.Equal(2, serve.Workers);
        Assert.Contains($"--workers 2 ({variable}=3, less the coordinator)", serve.FromLaunch);
    }

    [Theory]
    [InlineData("RANK")]
    [InlineData("PET_NODE_RANK")]
    [InlineData("JOB_COMPLETION_INDEX")]
    public void Each_rank_variable_names_the_worker(string variable)
    {
        var contract = Read((variable, "2"));
        Assert.Equal(new LaunchValue<int>(2, variable), contract.Rank);
        Assert.Equal("pod-a:rank2", Worker(contract, coordinator: "http://c:1").Name);
    }

    [Fact]
    public void The_first_name_of_each_list_wins_when_its_fallbacks_agree()
    {
        // PyTorchJob sets both names of each; Trainer sets PET_NODE_RANK and JOB_COMPLETION_INDEX together.
        var contract = Read(("MASTER_ADDR", "m"), ("PET_MASTER_ADDR", "M"), ("MASTER_PORT", "1"), ("PET_MASTER_PORT", "01"),
            ("WORLD_SIZE", "3"), ("PET_NNODES", "3"), ("RANK", "1"), ("PET_NODE_RANK", "1"), ("JOB_COMPLETION_INDEX", "1"));
        Assert.Equal("MASTER_ADDR", contract.MasterAddress!.Value.Variable);
        Assert.Equal("MASTER_PORT", contract.MasterPort!.Value.Variable);
        Assert.Equal("WORLD_SIZE", contract.WorldSize!.Value.Variable);
        Assert.Equal("RANK", contract.Rank!.Value.Variable);
    }

    [Theory]
    [InlineData("MASTER_ADDR", "a", "PET_MASTER_ADDR", "b")]
    [InlineData("MASTER_PORT", "5000", "PET_MASTER_PORT", "29400")]
    [InlineData("WORLD_SIZE", "6", "PET_NNODES", "3")]
    [InlineData("RANK", "1", "PET_NODE_RANK", "2")]
    [InlineData("PET_NODE_RANK", "0", "JOB_COMPLETION_INDEX", "1")]
    public void Two_variables_for_the_same_value_that_disagree_are_refused(string first, string firstValue, string second, string secondValue)
    {
        var message = Refusal(() => Read((first, firstValue), (second, secondValue)));
        Assert.StartsWith($"{first}={firstValue} and {second}=", message);
        Assert.Contains("disagree", message);
    }

    [Theory]
    [InlineData("MASTER_PORT", "abc", "is not a port number")]
    [InlineData("PET_MASTER_PORT", "0", "is not a port number")]
    [InlineData("MASTER_PORT", "65536", "is not a port number")]
    [InlineData("MASTER_PORT", "-1", "is not a port number")]
    [InlineData("WORLD_SIZE", "three", "is not a number of processes")]
    [InlineData("WORLD_SIZE", "0", "is not a number of processes")]
    [InlineData("PET_NNODES", "1:4", "is not a number of processes")]
    [InlineData("RANK", "-1", "is not a rank")]
    [InlineData("JOB_COMPLETION_INDEX", "x", "is not a rank")]
    [InlineData("MASTER_ADDR", "http://gpt:5000", "is not a host name or IP address")]
    [InlineData("PET_MASTER_ADDR", "a b", "is not a host name or IP address")]
    public void A_bad_value_is_refused_in_one_line_naming_the_variable(string variable, string value, string problem)
        => Assert.StartsWith($"{variable} '{value}' {problem}", Refusal(() => Read((variable, value))));

    [Fact]
    public void A_rank_outside_the_world_is_refused()
        => Assert.StartsWith("RANK=3 is outside WORLD_SIZE=3", Refusal(() => Read(("RANK", "3"), ("WORLD_SIZE", "3"))));

    [Fact]
    public void Options_on_the_command_line_win_over_the_variables()
    {
        var contract = Read(("MASTER_ADDR", "gpt-master-0"), ("MASTER_PORT", "29500"), ("WORLD_SIZE", "5"), ("RANK", "0"));
        var serve = Serve(contract, workers: 2, port: 6000, bind: "10.1.1.1");
        Assert.Equal((2, 6000, "10.1.1.1"), (serve.Workers, serve.Port, serve.Bind));
        Assert.Empty(serve.FromLaunch);
        var worker = Worker(contract, coordinator: "https://elsewhere:7000", name: "mine");
        Assert.Equal(new WorkerLaunch("https://elsewhere:7000", "mine"), worker);
    }

    [Fact]
    public void Serve_under_a_launch_listens_on_every_interface_unless_the_master_is_this_machine()
    {
        Assert.Equal("0.0.0.0", Serve(Read(("MASTER_ADDR", "gpt-master-0")), workers: 1).Bind);
        Assert.Equal("127.0.0.1", Serve(Read(("MASTER_ADDR", "127.0.0.1")), workers: 1).Bind);
        Assert.Equal("127.0.0.1", Serve(Read(("MASTER_ADDR", "localhost")), workers: 1).Bind);
        Assert.Equal("::1", Serve(Read(("MASTER_ADDR", "::1")), workers: 1).Bind);
        Assert.Contains("--bind 0.0.0.0 (MASTER_ADDR=gpt-master-0)", Serve(Read(("MASTER_ADDR", "gpt-master-0")), workers: 1).FromLaunch);
    }

    [Fact]
    public void Serve_is_rank_zero()
        => Assert.StartsWith("serve is rank 0 of a launch", Refusal(() => Serve(Read(("RANK", "2")), workers: 1)));

    [Fact]
    public void Serve_needs_a_world_with_a_worker_in_it()
    {
        Assert.StartsWith("WORLD_SIZE=1 leaves no workers", Refusal(() => Serve(Read(("WORLD_SIZE", "1")))));
        Assert.StartsWith("serve needs the number of workers: pass --workers N, or set WORLD_SIZE", Refusal(() => Serve(Read())));
    }

    [Fact]
    public void A_worker_under_a_launch_connects_over_https_when_given_TLS_material_and_brackets_IPv6()
    {
        Assert.Equal("https://gpt-coordinator:5000", Worker(Read(("MASTER_ADDR", "gpt-coordinator"), ("MASTER_PORT", "5000")), tls: true).Coordinator);
        Assert.Equal("http://[::1]:5000", Worker(Read(("MASTER_ADDR", "::1"), ("MASTER_PORT", "5000"))).Coordinator);
    }

    [Fact]
    public void A_worker_needs_both_halves_of_the_coordinator_address()
    {
        Assert.StartsWith("no coordinator: pass --coordinator", Refusal(() => Worker(Read())));
        Assert.StartsWith("MASTER_ADDR=m names the coordinator's host but MASTER_PORT", Refusal(() => Worker(Read(("MASTER_ADDR", "m")))));
        Assert.StartsWith("PET_MASTER_PORT=5 names the coordinator's port but MASTER_ADDR", Refusal(() => Worker(Read(("PET_MASTER_PORT", "5")))));
    }
}

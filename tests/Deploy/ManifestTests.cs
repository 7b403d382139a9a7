using System.Text.RegularExpressions;
using Distributed.Models.Config;
using Distributed.Protocol;
using k8s.Models;
using YamlDotNet.RepresentationModel;

namespace Distributed.Tests.Deploy;

/// <summary>
/// deploy/ as Kubernetes would take it: every manifest valid for the API, and the things that make
/// the run work or keep it safe: probes on the ports the programs really serve health on, the token
/// from a Secret, as many workers as the coordinator waits for, TLS material where each side needs it,
/// non-root pods, the output on the claim, a config the coordinator accepts.
/// </summary>
public sealed class ManifestTests
{
    private readonly DeployManifests _deploy = new();

    [Fact]
    public void Every_manifest_loads_strictly_and_the_kustomization_lists_every_one()
    {
        Assert.Equal(["config.yaml", "coordinator.yaml", "output-pvc.yaml", "workers.yaml"], _deploy.Files);
        Assert.Equal(6, _deploy.Objects.Count);
        Assert.Single(_deploy.Objects.OfType<V1ConfigMap>());
        Assert.Single(_deploy.Objects.OfType<V1PersistentVolumeClaim>());
        Assert.Equal(2, _deploy.Objects.OfType<V1Service>().Count());
        Assert.Equal(2, _deploy.Objects.OfType<V1Job>().Count());

        var kustomization = new YamlStream();
        kustomization.Load(new StringReader(File.ReadAllText(Path.Combine(_deploy.Folder, DeployManifests.Kustomization))));
        var resources = (YamlSequenceNode)((YamlMappingNode)kustomization.Documents[0].RootNode).Children[new YamlScalarNode("resources")];
        Assert.Equal(_deploy.Files, resources.Children.Select(r => ((YamlScalarNode)r).Value!).Order());
    }

    [Fact]
    public void The_load_is_strict_a_misspelled_field_or_an_unknown_kind_fails()
    {
        var workers = File.ReadAllText(Path.Combine(_deploy.Folder, "workers.yaml"));
        Assert.Contains("  parallelism:", workers);
        Assert.ThrowsAny<Exception>(() => DeployManifests.Load(workers.Replace("  parallelism:", "  paralelism:")));
        Assert.ThrowsAny<Exception>(() => DeployManifests.Load("apiVersion: batch/v1\nkind: Jobb\nmetadata:\n  name: x\n"));
    }

    [Fact]
    public void Probes_are_grpc_on_the_port_each_program_serves_health_on()
    {
        foreach (var job in new[] { _deploy.Coordinator, _deploy.Workers })
        {
            var container = DeployManifests.Container(job);
            var healthPort = int.Parse(DeployManifests.Argument(job, "--health-port")!);
            Assert.Contains(container.Ports, p => p.ContainerPort == healthPort);
            var probes = new[] { container.LivenessProbe, container.ReadinessProbe, container.StartupProbe }.OfType<V1Probe>().ToList();
            Assert.True(probes.Count >= 2, $"{job.Metadata.Name} has no liveness and readiness probes");
            Assert.All(probes, probe => Assert.Equal(healthPort.ToString(), probe.Grpc.Port.ToString()));
            // Liveness asks the service that is up whenever the process answers; readiness the whole process.
            Assert.Equal(HealthServices.Liveness, container.LivenessProbe.Grpc.Service);
            Assert.True(string.IsNullOrEmpty(container.ReadinessProbe.Grpc.Service));
            if (container.StartupProbe is { } startup)
            {
                Assert.Equal(HealthServices.Liveness, startup.Grpc.Service);
            }
        }
        // Reachable from the kubelet: the coordinator's health port listens on --bind, the worker's on --health-bind.
        Assert.Equal("0.0.0.0", DeployManifests.Argument(_deploy.Coordinator, "--bind"));
        Assert.Equal("0.0.0.0", DeployManifests.Argument(_deploy.Workers, "--health-bind"));
    }

    [Fact]
    public void Both_programs_serve_metrics_on_a_declared_port_the_pod_annotations_name()
    {
        foreach (var job in new[] { _deploy.Coordinator, _deploy.Workers })
        {
            var metricsPort = DeployManifests.Argument(job, "--metrics-port");
            Assert.NotNull(metricsPort);
            Assert.Contains(DeployManifests.Container(job).Ports, p => p.ContainerPort.ToString() == metricsPort && p.Name == "metrics");
            var annotations = job.Spec.Template.Metadata.Annotations;
            Assert.Equal(("true", metricsPort, MetricsListener.Path),
                (annotations["prometheus.io/scrape"], annotations["prometheus.io/port"], annotations["prometheus.io/path"]));
        }
    }

    [Fact]
    public void The_run_token_comes_from_one_secret_never_a_literal()
    {
        var references = new List<(string, string)>();
        foreach (var job in new[] { _deploy.Coordinator, _deploy.Workers })
        {
            var container = DeployManifests.Container(job);
            Assert.DoesNotContain("--token", container.Args);
            var token = Assert.Single(container.Env, e => e.Name == RunToken.EnvironmentVariable);
            Assert.Null(token.Value);
            Assert.NotNull(token.ValueFrom?.SecretKeyRef);
            references.Add((token.ValueFrom.SecretKeyRef.Name, token.ValueFrom.SecretKeyRef.Key));
        }
        Assert.Single(references.Distinct());
    }

    [Fact]
    public void The_indexed_workers_job_runs_as_many_workers_as_the_coordinator_waits_for()
    {
        var spec = _deploy.Workers.Spec;
        Assert.Equal("Indexed", spec.CompletionMode);
        Assert.Equal(CoordinatorWorkers(), spec.Parallelism);
        Assert.Equal(CoordinatorWorkers(), spec.Completions);
    }

    [Fact]
    public void Workers_reach_the_coordinator_through_its_service_over_TLS_holding_only_the_CA()
    {
        var service = _deploy.Single<V1Service>("gpt-coordinator");
        var coordinator = DeployManifests.Container(_deploy.Coordinator);
        Assert.Equal(service.Spec.Selector, _deploy.Coordinator.Spec.Template.Metadata.Labels);
        var servicePort = Assert.Single(service.Spec.Ports);
        var target = Assert.Single(coordinator.Ports, p => p.Name == servicePort.TargetPort.Value || p.ContainerPort.ToString() == servicePort.TargetPort.Value);
        Assert.Equal(DeployManifests.Argument(_deploy.Coordinator, "--port"), target.ContainerPort.ToString());

        var address = new Uri(DeployManifests.Argument(_deploy.Workers, "--coordinator")!);
        Assert.Equal(("https", service.Metadata.Name, servicePort.Port), (address.Scheme, address.Host, address.Port));

        var (serverSecret, serverKeys) = SecretFiles(_deploy.Coordinator, DeployManifests.Argument(_deploy.Coordinator, "--tls-cert")!,
            DeployManifests.Argument(_deploy.Coordinator, "--tls-key")!);
        var (workerSecret, workerKeys) = SecretFiles(_deploy.Workers, DeployManifests.Argument(_deploy.Workers, "--ca")!);
        Assert.Equal(serverSecret, workerSecret);
        Assert.Equal(["tls.crt", "tls.key"], serverKeys);
        Assert.Equal(["ca.crt"], workerKeys);
    }

    [Fact]
    public void Pods_run_as_a_non_root_user_without_privileges_and_request_resources()
    {
        var containerfile = File.ReadAllText(Path.Combine(_deploy.Folder, "Containerfile"));
        var imageUser = Regex.Match(containerfile, @"(?m)^USER (\d+)\s*$").Groups[1].Value;
        foreach (var job in new[] { _deploy.Coordinator, _deploy.Workers })
        {
            var pod = job.Spec.Template.Spec;
            Assert.True(pod.SecurityContext.RunAsNonRoot);
            Assert.True(pod.SecurityContext.RunAsUser > 0);
            Assert.Equal(imageUser, pod.SecurityContext.RunAsUser.ToString());
            Assert.False(pod.AutomountServiceAccountToken);
            var container = DeployManifests.Container(job);
            Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
            Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
            Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
            Assert.Contains("cpu", container.Resources.Requests.Keys);
            Assert.Contains("memory", container.Resources.Requests.Keys);
        }
    }

    [Fact]
    public void The_coordinator_writes_its_output_onto_the_claim()
    {
        var claim = Assert.Single(_deploy.Objects.OfType<V1PersistentVolumeClaim>());
        var (volume, mount) = MountHolding(_deploy.Coordinator, DeployManifests.Argument(_deploy.Coordinator, "--out")!);
        Assert.Equal(claim.Metadata.Name, volume.PersistentVolumeClaim?.ClaimName);
        Assert.NotEqual(true, mount.ReadOnlyProperty);
    }

    [Fact]
    public void A_failed_coordinator_is_restarted_in_place_resumes_from_its_output_and_the_workers_wait_for_it()
    {
        var coordinator = _deploy.Coordinator.Spec;
        Assert.Equal("OnFailure", coordinator.Template.Spec.RestartPolicy);
        Assert.True(coordinator.BackoffLimit > 0);
        Assert.Equal("auto", DeployManifests.Argument(_deploy.Coordinator, "--resume"));
        // Long enough for the restarted pod to read its data and listen again (its startup probe allows 5 minutes).
        var rejoin = double.Parse(DeployManifests.Argument(_deploy.Workers, "--rejoin-timeout")!, System.Globalization.CultureInfo.InvariantCulture);
        var startup = DeployManifests.Container(_deploy.Coordinator).StartupProbe;
        Assert.True(rejoin >= startup.PeriodSeconds * startup.FailureThreshold, $"--rejoin-timeout {rejoin} s is shorter than the coordinator's startup probe allows");
    }

    [Fact]
    public void The_config_map_holds_a_config_the_coordinator_accepts_for_its_workers()
    {
        var configPath = DeployManifests.Argument(_deploy.Coordinator, "--config")!;
        var (volume, mount) = MountHolding(_deploy.Coordinator, configPath);
        var configMap = _deploy.Single<V1ConfigMap>(volume.ConfigMap.Name);
        var json = configMap.Data[Path.GetRelativePath(mount.MountPath, configPath)];

        var config = ConfigLoader.FromJson(json, "deploy/config.yaml");
        Assert.Empty(ConfigValidator.Problems(config));
        Assert.True(config.BatchSize >= CoordinatorWorkers(), $"batch_size {config.BatchSize} is below the {CoordinatorWorkers()} workers");
    }

    [Fact]
    public void The_headless_service_names_each_worker_pod()
    {
        var service = _deploy.Single<V1Service>("gpt-workers");
        Assert.Equal("None", service.Spec.ClusterIP);
        Assert.Equal(service.Spec.Selector, _deploy.Workers.Spec.Template.Metadata.Labels);
        Assert.Equal(service.Metadata.Name, _deploy.Workers.Spec.Template.Spec.Subdomain);
    }

    [Fact]
    public void The_containers_run_what_the_Containerfile_publishes_from_files_that_exist()
    {
        // The image cannot be built here (no registry): check what it is made of instead.
        var containerfile = File.ReadAllText(Path.Combine(_deploy.Folder, "Containerfile"));
        var publish = Regex.Match(containerfile, @"dotnet publish (\S+) .*-o (\S+)");
        Assert.True(publish.Success, "no `dotnet publish PROJECT ... -o DIR` in deploy/Containerfile");
        var root = Repository.Root();
        Assert.True(File.Exists(Path.Combine(root, publish.Groups[1].Value)), $"{publish.Groups[1].Value} does not exist");
        foreach (Match copy in Regex.Matches(containerfile, @"(?m)^COPY (?!--from)(.+) \S+$"))
        {
            Assert.All(copy.Groups[1].Value.Split(' '), source => Assert.True(Path.Exists(Path.Combine(root, source)), $"COPY {source}: not in the repository"));
        }
        var published = publish.Groups[2].Value;
        Assert.Equal(["dotnet", $"{published}/coordinator.dll"], DeployManifests.Container(_deploy.Coordinator).Command);
        Assert.Equal(["dotnet", $"{published}/worker/worker.dll"], DeployManifests.Container(_deploy.Workers).Command);
    }

    /// <summary>The coordinator's worker count as serve resolves it: --workers, else the launch contract's WORLD_SIZE - 1.</summary>
    private int CoordinatorWorkers()
    {
        var container = DeployManifests.Container(_deploy.Coordinator);
        var literals = (container.Env ?? []).Where(e => e.Value is not null).ToDictionary(e => e.Name, e => e.Value);
        var workers = DeployManifests.Argument(_deploy.Coordinator, "--workers") is { } given ? int.Parse(given) : (int?)null;
        return LaunchContract.Read(literals.GetValueOrDefault).ForServe(workers, null, null, 0, "127.0.0.1").Workers;
    }

    /// <summary>The Secret behind the files at <paramref name="paths"/> in the job's container, and every key its volume projects.</summary>
    private static (string Secret, IReadOnlyList<string> Keys) SecretFiles(V1Job job, params string[] paths)
    {
        var secrets = paths.Select(path => MountHolding(job, path)).Select(m => m.Volume).Distinct().ToList();
        var volume = Assert.Single(secrets);
        Assert.NotNull(volume.Secret);
        var items = volume.Secret.Items ?? throw new InvalidOperationException($"{volume.Name} projects every key of {volume.Secret.SecretName}; list the ones it needs");
        foreach (var path in paths)
        {
            Assert.Contains(items, i => Path.Combine(MountHolding(job, path).Mount.MountPath, i.Path) == path);
        }
        return (volume.Secret.SecretName, items.Select(i => i.Key).Order().ToList());
    }

    /// <summary>The volume mounted where <paramref name="path"/> lies, and its mount.</summary>
    private static (V1Volume Volume, V1VolumeMount Mount) MountHolding(V1Job job, string path)
    {
        var mount = Assert.Single(DeployManifests.Container(job).VolumeMounts, m => path.StartsWith(m.MountPath.TrimEnd('/') + "/", StringComparison.Ordinal));
        return (Assert.Single(job.Spec.Template.Spec.Volumes, v => v.Name == mount.Name), mount);
    }
}

using k8s;
using k8s.Models;

namespace Distributed.Tests.Deploy;

/// <summary>
/// The Kubernetes manifests in deploy/, loaded strictly into the API's model types (a field the API
/// does not have, or a kind it does not know, fails the load, as `kubectl apply` would refuse it).
/// </summary>
internal sealed class DeployManifests
{
    /// <summary>The one file in deploy/ that is kustomize's, not the API's.</summary>
    public const string Kustomization = "kustomization.yaml";

    public DeployManifests()
    {
        Folder = Path.Combine(Repository.Root(), "deploy");
        Files = Directory.GetFiles(Folder, "*.yaml").Select(Path.GetFileName).Where(f => f != Kustomization).Order().ToList()!;
        Objects = Files.SelectMany(file => Load(File.ReadAllText(Path.Combine(Folder, file)))).ToList();
    }

    public string Folder { get; }

    /// <summary>Every manifest file's name (not the kustomization).</summary>
    public IReadOnlyList<string> Files { get; }

    public IReadOnlyList<object> Objects { get; }

    public static IReadOnlyList<object> Load(string yaml) => KubernetesYaml.LoadAllFromString(yaml, strict: true);

    public T Single<T>(string name) where T : IMetadata<V1ObjectMeta>
        => Assert.Single(Objects.OfType<T>(), o => o.Metadata.Name == name);

    public V1Job Coordinator => Single<V1Job>("gpt-coordinator");

    public V1Job Workers => Single<V1Job>("gpt-workers");

    public static V1Container Container(V1Job job) => Assert.Single(job.Spec.Template.Spec.Containers);

    /// <summary>The value after <paramref name="option"/> in the container's arguments; null when it is not there.</summary>
    public static string? Argument(V1Job job, string option)
    {
        var arguments = Container(job).Args ?? [];
        var at = arguments.IndexOf(option);
        return at >= 0 && at + 1 < arguments.Count ? arguments[at + 1] : null;
    }
}

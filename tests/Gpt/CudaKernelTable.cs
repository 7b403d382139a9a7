using System.Text.RegularExpressions;

namespace Distributed.Tests.Gpt;

/// <summary>
/// ONNX Runtime's CUDA kernel table (the CUDAExecutionProvider section of its docs/OperatorKernels.md):
/// for each domain and op, the opset ranges a kernel is registered for, which input takes which type
/// constraint, and the element types each constraint allows.
/// </summary>
internal sealed partial class CudaKernelTable
{
    public const string FileName = "CudaKernels-1.31.md";

    /// <summary>One row: versions [From, To] (To null: "From+"), the inputs' constraints in order, the allowed types.</summary>
    public sealed record Kernel(string Domain, string Op, int From, int? To, IReadOnlyList<IReadOnlyList<string>> Signatures,
        IReadOnlyDictionary<string, IReadOnlySet<string>> Types)
    {
        public bool Covers(int version) => From <= version && (To is null || version <= To);

        public string Versions => To is null ? $"{From}+" : From == To ? $"{From}" : $"[{From}, {To}]";
    }

    private readonly Dictionary<(string Domain, string Op), List<Kernel>> _kernels = [];

    public static CudaKernelTable Load() => Parse(File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, FileName)));

    public static CudaKernelTable Parse(IEnumerable<string> lines)
    {
        var table = new CudaKernelTable();
        string? domain = null, op = null;
        IReadOnlyList<IReadOnlyList<string>> signatures = [];
        var inSection = false;
        foreach (var line in lines)
        {
            if (line.StartsWith("## Operators implemented by ", StringComparison.Ordinal))
            {
                inSection = line.Trim() == "## Operators implemented by CUDAExecutionProvider";
                continue;
            }
            if (!inSection || !line.StartsWith('|'))
            {
                continue;
            }
            if (DomainRow().Match(line) is { Success: true } d)
            {
                domain = d.Groups[1].Value;
                continue;
            }
            var cells = line.Split('|');
            if (cells.Length < 6 || domain is null || cells[1] is "Op Name" || cells[1].StartsWith('-') || VersionCell().Match(cells[3].Trim()) is not { Success: true } v)
            {
                continue;
            }
            if (cells[1].Length > 0)
            {
                op = cells[1];
                signatures = cells[2].Split("<br><br>or<br><br>")
                    .Select(s => (IReadOnlyList<string>)InputCell().Matches(s).Select(m => m.Groups[1].Value).ToList())
                    .ToList();
            }
            if (op is null)
            {
                continue;
            }
            var (from, to) = v.Groups["single"].Success
                ? (int.Parse(v.Groups["single"].Value), v.Groups["plus"].Success ? (int?)null : int.Parse(v.Groups["single"].Value))
                : (int.Parse(v.Groups["from"].Value), int.Parse(v.Groups["to"].Value));
            var types = cells[4].Split("<br/>")
                .Select(c => TypeCell().Match(c))
                .Where(m => m.Success)
                .ToDictionary(m => m.Groups[1].Value, m => (IReadOnlySet<string>)TypeName().Matches(m.Groups[2].Value).Select(t => t.Groups[1].Value).ToHashSet());
            var key = (domain, op);
            if (!table._kernels.TryGetValue(key, out var list))
            {
                table._kernels[key] = list = [];
            }
            list.Add(new Kernel(domain, op, from, to, signatures, types));
        }
        return table;
    }

    public int Count => _kernels.Values.Sum(k => k.Count);

    public IReadOnlyList<Kernel> For(string domain, string op) => _kernels.GetValueOrDefault((domain, op)) ?? [];

    /// <summary>
    /// Why no kernel runs a node of <paramref name="op"/> at schema version <paramref name="version"/> on these input
    /// element types (ONNX names such as "float"; null for an omitted optional input), or null when one does.
    /// </summary>
    public string? Problem(string domain, string op, int version, IReadOnlyList<string?> inputTypes)
    {
        var kernels = For(domain, op);
        if (kernels.Count == 0)
        {
            return $"{domain}:{op} has no CUDA kernel";
        }
        if (kernels.FirstOrDefault(k => k.Covers(version)) is not { } kernel)
        {
            return $"{domain}:{op}-{version} has no CUDA kernel (CUDA registers {string.Join(", ", kernels.Select(k => k.Versions))})";
        }
        // An input is checked against its type constraint where the table names the constraint's types
        // (inputs beyond a signature's list are the last, variadic one's).
        var mismatches = kernel.Signatures.Select(signature => Mismatch(kernel, signature, inputTypes)).ToList();
        return mismatches.Any(m => m is null) ? null : $"{domain}:{op}-{version} (CUDA {kernel.Versions}): {mismatches[0]}";
    }

    private static string? Mismatch(Kernel kernel, IReadOnlyList<string> signature, IReadOnlyList<string?> inputTypes)
    {
        for (var i = 0; i < inputTypes.Count; i++)
        {
            if (inputTypes[i] is not { } type || signature.Count == 0)
            {
                continue;
            }
            var constraint = signature[Math.Min(i, signature.Count - 1)];
            var allowed = constraint.StartsWith("tensor(", StringComparison.Ordinal)
                ? new HashSet<string> { constraint }
                : kernel.Types.GetValueOrDefault(constraint);
            if (allowed is not null && !allowed.Contains($"tensor({type})"))
            {
                return $"input {i} is tensor({type}), the kernel's {constraint} allows {string.Join(", ", allowed.Order())}";
            }
        }
        return null;
    }

    [GeneratedRegex(@"^\|\*\*Operator Domain:\*\* \*([^*]+)\*")]
    private static partial Regex DomainRow();

    [GeneratedRegex(@"^(?:(?<single>\d+)(?<plus>\+)?|\[(?<from>\d+), (?<to>\d+)\])$")]
    private static partial Regex VersionCell();

    [GeneratedRegex(@"\*in\* [^:]+:\*\*([^*]+)\*\*")]
    private static partial Regex InputCell();

    [GeneratedRegex(@"\*\*([^*]+)\*\* = (.*)")]
    private static partial Regex TypeCell();

    [GeneratedRegex(@"(tensor\([a-z0-9]+\)|seq\(tensor\([a-z0-9]+\)\))")]
    private static partial Regex TypeName();
}

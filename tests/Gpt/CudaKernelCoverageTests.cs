using Distributed.Models;
using Distributed.Models.Config;
using Distributed.Models.Gpt;
using Distributed.Models.Graph;
using Distributed.Models.Runtime;
using Distributed.Onnx;
using Distributed.Tests.Checkpoints;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit.Abstractions;

namespace Distributed.Tests.Gpt;

/// <summary>
/// Every node of the float32 training, evaluation and inference graphs, in every architecture option, has a
/// CUDA kernel in ONNX Runtime's kernel table (<see cref="CudaKernelTable.FileName"/>): op, domain, opset version
/// and input types. So a GPU worker runs no node on the CPU for want of a kernel. Nothing CUDA runs here: the
/// check is against the table, on the graph ONNX Runtime itself resolves (ONNX functions such as
/// SoftmaxCrossEntropyLoss, which no execution provider implements, inlined into their bodies as ORT does).
/// </summary>
public class CudaKernelCoverageTests(ITestOutputHelper output)
{
    private static readonly GptConfig Base = new()
    {
        NumLayers = 2, NumHeads = 2, EmbeddingSize = 16, MaxSequenceLength = 8, VocabSize = 11, BatchSize = 2,
    };

    /// <summary>The architecture options, each turned on somewhere: GPT-2 with every activation, LLaMA-style, dropout.</summary>
    public static readonly TheoryData<string[]> Architectures = new()
    {
        new[] { "dropout=0.1" },                                                                     // GPT-2: LayerNorm, GELU, learned positions, biases, tied head
        new[] { "activation=relu" },
        new[] { "activation=tanh", "bias=false" },                                                   // LayerNorm without bias
        new[] { "activation=relu2", "position=rope", "qk_norm=true", "tie_embeddings=false" },       // modded-nanogpt-like
        new[] { "norm=rmsnorm", "mlp=swiglu", "position=rope", "bias=false", "tie_embeddings=false", "qk_norm=true", "dropout=0.1" }, // LLaMA + QK-norm
        new[] { "mlp=swiglu", "feed_forward_size=24" },                                             // SwiGLU with biases, learned positions
    };

    /// <summary>
    /// The default domain's schema version each op resolves to at <see cref="OnnxGraph.Opset"/> (20): the latest
    /// since-version at or below 20 (ONNX's Changelog.md). ORT's SimplifiedLayerNormalization is registered in the
    /// default domain at version 1. An op missing here fails the test: add its version when the builder emits it.
    /// </summary>
    private static readonly Dictionary<(string Domain, string Op), int> SchemaVersion = new()
    {
        [("", "Add")] = 14, [("", "Sub")] = 14, [("", "Mul")] = 14, [("", "Div")] = 14, [("", "Neg")] = 13,
        [("", "Exp")] = 13, [("", "Log")] = 13, [("", "Tanh")] = 13, [("", "Sigmoid")] = 13, [("", "Relu")] = 14, [("", "Gelu")] = 20,
        [("", "MatMul")] = 13, [("", "Softmax")] = 13, [("", "LogSoftmax")] = 13,
        [("", "LayerNormalization")] = 17, [("", "SimplifiedLayerNormalization")] = 1,
        [("", "SoftmaxCrossEntropyLoss")] = 13, [("", "NegativeLogLikelihoodLoss")] = 13,
        [("", "Gather")] = 13, [("", "GatherElements")] = 13, [("", "ScatterND")] = 18, [("", "ScatterElements")] = 18,
        [("", "Greater")] = 13, [("", "Equal")] = 19, [("", "Where")] = 16, [("", "Cast")] = 19, [("", "Identity")] = 19,
        [("", "Reshape")] = 19, [("", "Transpose")] = 13, [("", "Split")] = 18, [("", "Concat")] = 13, [("", "Slice")] = 13,
        [("", "Pad")] = 19, [("", "Shape")] = 19, [("", "Unsqueeze")] = 13, [("", "Squeeze")] = 13, [("", "Expand")] = 13,
        [("", "ReduceSum")] = 13, [("", "ReduceMean")] = 18, [("", "ConstantOfShape")] = 20, [("", "Constant")] = 19,
        [("com.microsoft", "FusedMatMul")] = 1,
    };

    [Fact]
    public void The_table_is_the_cuda_section_and_parses()
    {
        var table = CudaKernelTable.Load();
        Assert.True(table.Count > 300, $"only {table.Count} CUDA kernels parsed");
        Assert.Contains(table.For("ai.onnx", "MatMul"), k => k.Covers(13));
        Assert.Empty(table.For("ai.onnx", "SoftmaxCrossEntropyLoss"));     // an ONNX function: ORT inlines its body
        Assert.Null(table.Problem("ai.onnx", "Add", 14, ["float", "float"]));
        Assert.NotNull(table.Problem("ai.onnx", "Add", 14, ["bool", "bool"]));
        Assert.NotNull(table.Problem("ai.onnx", "NoSuchOp", 1, []));
        Assert.NotNull(table.Problem("ai.onnx", "Gelu", 13, ["float"]));                 // CUDA has Gelu from opset 20 only
        Assert.NotNull(table.Problem("ai.onnx", "Pad", 19, ["int64", "int64"]));         // CUDA Pad: bool and floating types
        Assert.Null(table.Problem("ai.onnx", "Where", 16, ["bool", "float", "float"]));
        Assert.NotNull(table.Problem("ai.onnx", "Where", 16, ["float", "float", "float"]));
    }

    /// <summary>The GPU build runs ORT 1.31.0 from the CUDA package (managed and native alike); the CPU build 1.31.1.</summary>
    [Fact]
    public void The_build_runs_the_onnx_runtime_it_names()
    {
        var providers = OrtEnv.Instance().GetAvailableProviders();
        var managed = typeof(InferenceSession).Assembly.GetName().Version!;
        if (DeviceCheck.IsGpuBuild)
        {
            Assert.Equal("1.31.0", OrtEnv.Instance().GetVersionString());
            Assert.Equal(new Version(1, 31, 0), new Version(managed.Major, managed.Minor, managed.Build));
            Assert.Contains("CUDAExecutionProvider", providers);
            Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libonnxruntime_providers_cuda.so")));
        }
        else
        {
            Assert.Equal("1.31.1", OrtEnv.Instance().GetVersionString());
            Assert.DoesNotContain("CUDAExecutionProvider", providers);
        }
        Assert.Contains("CPUExecutionProvider", providers);
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Every_node_of_every_graph_has_a_cuda_kernel(string[] overrides)
    {
        var config = ConfigLoader.Load(Base, null, overrides);
        var table = CudaKernelTable.Load();
        var problems = new SortedSet<string>();
        var seen = new SortedSet<string>();
        foreach (var (name, model) in Graphs(config))
        {
            var built = ModelProto.Parser.ParseFrom(model).Graph.Node.Select(OpName).ToHashSet();
            var resolved = Resolve(model);
            foreach (var (node, inputTypes) in resolved)
            {
                var key = (node.Domain, node.OpType);
                if (!SchemaVersion.TryGetValue(key, out var version))
                {
                    problems.Add($"{name}: {OpName(node)} is not in this test's SchemaVersion table; add its version at opset {OnnxGraph.Opset}");
                    continue;
                }
                var domain = node.Domain.Length == 0 ? "ai.onnx" : node.Domain;
                seen.Add($"{domain}:{node.OpType}-{version}({string.Join(",", inputTypes.Select(t => t ?? "-"))})");
                if (table.Problem(domain, node.OpType, version, inputTypes) is { } problem)
                {
                    problems.Add($"{name}: {problem}");
                }
            }
            // Ops ORT inlined (ONNX functions no provider implements): none of them may have stayed a node.
            var resolvedOps = resolved.Select(r => OpName(r.Node)).ToHashSet();
            var inlined = built.Except(resolvedOps).ToList();
            Assert.All(inlined, op => Assert.Equal("SoftmaxCrossEntropyLoss", op));
            output.WriteLine($"{name}: {built.Count} op types built; ORT inlined [{string.Join(", ", inlined)}], adding [{string.Join(", ", resolvedOps.Except(built).Order())}]");
        }
        output.WriteLine(string.Join("\n", seen));
        Assert.True(problems.Count == 0, "Nodes without a CUDA kernel:\n" + string.Join("\n", problems));
    }

    private static string OpName(NodeProto node) => node.Domain.Length == 0 ? node.OpType : $"{node.Domain}:{node.OpType}";

    private static IEnumerable<(string Name, byte[] Model)> Graphs(GptConfig config)
    {
        yield return ("training", GptGraphs.Training(config, config.BatchSize).Model);
        yield return ("evaluation", GptGraphs.Evaluation(config, batch: -1));
        var weights = new FlatBuffer(new ParameterLayout(config));
        weights.InitializeGpt2(config.NumLayers, new Rng(1));
        yield return ("inference", GptGraphs.Inference(config, weights));
    }

    /// <summary>
    /// The graph as ONNX Runtime resolves it (no optimizations: the CUDA provider's own fusions only make ops it
    /// implements), with each node's input element types as ORT infers them.
    /// </summary>
    private static List<(NodeProto Node, IReadOnlyList<string?> InputTypes)> Resolve(byte[] model)
    {
        using var temp = new TempDirectory();
        var resolvedPath = temp.File("resolved.onnx");
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, OptimizedModelFilePath = resolvedPath })
        using (new InferenceSession(model, options))
        {
        }
        var resolved = ModelProto.Parser.ParseFrom(File.ReadAllBytes(resolvedPath));
        var types = new Dictionary<string, string>();
        foreach (var initializer in resolved.Graph.Initializer)
        {
            types[initializer.Name] = TypeName((TensorElementType)initializer.DataType);
        }
        // Every value a graph output, so ORT's type inference names each one's element type.
        var probe = resolved.Clone();
        var outputs = probe.Graph.Output.Select(o => o.Name).ToHashSet();
        foreach (var value in probe.Graph.Node.SelectMany(n => n.Output).Where(o => o.Length > 0 && outputs.Add(o)))
        {
            probe.Graph.Output.Add(new ValueInfoProto { Name = value });
        }
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL })
        using (var session = new InferenceSession(probe.ToByteArray(), options))
        {
            foreach (var (name, meta) in session.InputMetadata.Concat(session.OutputMetadata))
            {
                types[name] = TypeName(meta.ElementDataType);
            }
        }
        return resolved.Graph.Node
            .Select(n => (n, (IReadOnlyList<string?>)n.Input.Select(i => i.Length == 0 ? null : types[i]).ToList()))
            .ToList();
    }

    private static string TypeName(TensorElementType type) => type switch
    {
        TensorElementType.Float => "float",
        TensorElementType.Double => "double",
        TensorElementType.Int64 => "int64",
        TensorElementType.Int32 => "int32",
        TensorElementType.Bool => "bool",
        _ => type.ToString().ToLowerInvariant(),
    };
}

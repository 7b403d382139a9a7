using Distributed.Models;
using Distributed.Models.Autodiff;
using Distributed.Models.Graph;
using static Distributed.Tests.Autodiff.GradientCheck;

namespace Distributed.Tests.Autodiff;

/// <summary>Every gradient rule against central finite differences, in float64, on random inputs.</summary>
public class OpGradientTests
{
    private const double Tolerance = 1e-6;

    private static Input In(string name, params long[] shape)
        => new(name, shape, GradientCheck.Random((int)shape.Aggregate(1L, (a, d) => a * d), StableSeed(name)));

    // string.GetHashCode differs per process; a failure must be reproducible with the same inputs.
    private static int StableSeed(string name) => name.Aggregate(17, (h, c) => h * 31 + c) & 0xFFFF;

    [Fact]
    public void Add_with_broadcasting() =>
        Assert.True(MaxRelativeError([In("a", 2, 3, 4), In("b", 4)], (g, v) => g.Add(v[0], v[1])) < Tolerance);

    [Fact]
    public void Sub_with_broadcasting() =>
        Assert.True(MaxRelativeError([In("a", 3, 1), In("b", 2, 3, 4)], (g, v) => g.Sub(v[0], v[1])) < Tolerance);

    [Fact]
    public void Mul_with_broadcasting() =>
        Assert.True(MaxRelativeError([In("a", 2, 3, 4), In("b", 3, 1)], (g, v) => g.Mul(v[0], v[1])) < Tolerance);

    [Fact]
    public void Neg_and_scale() =>
        Assert.True(MaxRelativeError([In("a", 5)], (g, v) => g.Scale(g.Neg(v[0]), 0.3)) < Tolerance);

    [Fact]
    public void MatMul_of_a_batch_by_a_weight() =>
        Assert.True(MaxRelativeError([In("x", 2, 3, 4), In("w", 4, 5)], (g, v) => g.MatMul(v[0], v[1])) < Tolerance);

    [Fact]
    public void MatMul_of_batched_operands() =>
        Assert.True(MaxRelativeError([In("a", 2, 2, 3, 4), In("b", 2, 2, 4, 3)], (g, v) => g.MatMul(v[0], v[1])) < Tolerance);

    [Fact]
    public void Transpose_and_reshape() =>
        Assert.True(MaxRelativeError([In("x", 2, 3, 4)],
            (g, v) => g.Mul(g.Reshape(g.Transpose(v[0], 2, 0, 1), [0, -1]), g.Scalar(2.0))) < Tolerance);

    [Fact]
    public void Split_into_three_with_each_part_used_differently() =>
        Assert.True(MaxRelativeError([In("x", 2, 6)], (g, v) =>
        {
            var parts = g.SplitLast(v[0], 3);
            return g.Add(g.Mul(parts[0], parts[1]), g.Scale(parts[2], 3.0));
        }) < Tolerance);

    [Fact]
    public void Split_with_an_unused_part() =>
        Assert.True(MaxRelativeError([In("x", 2, 6)], (g, v) => g.SplitLast(v[0], 3)[1]) < Tolerance);

    [Fact]
    public void First_rows_of_a_table() =>
        Assert.True(MaxRelativeError([In("table", 5, 3)], (g, v) => g.FirstRows(v[0], g.Int64s(3), 3)) < Tolerance);

    [Fact]
    public void Embedding_with_repeated_ids()
    {
        long[] ids = [1, 3, 1, 0, 3, 3];
        Assert.True(MaxRelativeError([In("table", 4, 3)], (g, v) => g.Embedding(v[0], v[1]),
            [("ids", ids, [2, 3])]) < Tolerance);
    }

    [Fact]
    public void Cross_entropy()
    {
        long[] targets = [2, 0, 4, 4];
        Assert.True(MaxRelativeError([In("logits", 4, 5)], (g, v) => g.CrossEntropy(v[0], v[1]),
            [("targets", targets, [4])]) < Tolerance);
    }

    [Fact]
    public void Layer_norm_of_input_gain_and_bias() =>
        Assert.True(MaxRelativeError([In("x", 2, 3, 8), In("gamma", 8), In("beta", 8)],
            (g, v) => g.LayerNorm(v[0], v[1], v[2])) < 1e-5);   // its saved mean/rstd are float32

    [Fact]
    public void Layer_norm_without_bias() =>
        Assert.True(MaxRelativeError([In("x", 2, 3, 8), In("gamma", 8)], (g, v) => g.LayerNorm(v[0], v[1], null)) < 1e-5);

    [Fact]
    public void Rms_norm_of_input_and_gain() =>
        Assert.True(MaxRelativeError([In("x", 2, 3, 8), In("gamma", 8)], (g, v) => g.RmsNorm(v[0], v[1])) < 1e-5); // float32 rstd

    [Fact]
    public void Rms_norm_per_head_of_a_rank_4_input() =>
        Assert.True(MaxRelativeError([In("x", 2, 3, 2, 4), In("gamma", 4)], (g, v) => g.RmsNorm(v[0], v[1])) < 1e-5);

    [Fact]
    public void Rms_norm_forward_is_x_over_its_root_mean_square_times_the_gain()
    {
        double[] x = [0.5, -1.5, 2.0, 0.25], gamma = [1.0, 2.0, -0.5, 3.0];
        var rms = Math.Sqrt(x.Average(v => v * v) + Ops.RmsNormEpsilon);
        var y = Forward([("x", x, [1, 4]), ("gamma", gamma, [4])], (g, v) => g.RmsNorm(v[0], v[1]));
        Assert.Equal(x.Zip(gamma, (a, w) => a / rms * w), y, (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Fact]
    public void Rotary_with_constant_tables_broadcast_over_heads() =>
        Assert.True(MaxRelativeError([In("x", 2, 3, 2, 4), In("cos", 3, 1, 4) with { Differentiable = false }, In("sin", 3, 1, 4) with { Differentiable = false }],
            (g, v) => g.Rotary(v[0], v[1], v[2])) < Tolerance);

    [Fact]
    public void Rotary_forward_turns_each_pair_i_and_i_plus_half_by_its_angle()
    {
        // One position, one head of size 4: pairs (x0, x2) and (x1, x3) turn by a0 and a1.
        double[] x = [1.0, 2.0, 3.0, 4.0], angles = [0.3, -1.1];
        double[] cos = [Math.Cos(angles[0]), Math.Cos(angles[1]), Math.Cos(angles[0]), Math.Cos(angles[1])];
        double[] sin = [-Math.Sin(angles[0]), -Math.Sin(angles[1]), Math.Sin(angles[0]), Math.Sin(angles[1])];
        var y = Forward([("x", x, [1, 4]), ("cos", cos, [1, 4]), ("sin", sin, [1, 4])], (g, v) => g.Rotary(v[0], v[1], v[2]));
        double[] expected =
        [
            x[0] * Math.Cos(angles[0]) - x[2] * Math.Sin(angles[0]), x[1] * Math.Cos(angles[1]) - x[3] * Math.Sin(angles[1]),
            x[2] * Math.Cos(angles[0]) + x[0] * Math.Sin(angles[0]), x[3] * Math.Cos(angles[1]) + x[1] * Math.Sin(angles[1]),
        ];
        Assert.Equal(expected, y, (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void Softmax_last_axis() =>
        Assert.True(MaxRelativeError([In("x", 2, 3, 5)], (g, v) => g.Softmax(v[0])) < Tolerance);

    [Theory]
    [InlineData(Activation.Gelu)]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Relu2)]
    public void Activation_functions(Activation activation) =>
        Assert.True(MaxRelativeError([In("x", 3, 7)], (g, v) => g.Activate(v[0], activation)) < 1e-5);

    [Fact]
    public void Silu() =>
        Assert.True(MaxRelativeError([In("x", 3, 7)], (g, v) => g.Silu(v[0])) < Tolerance);

    [Fact]
    public void Relu2_forward_squares_the_positive_part() =>
        Assert.Equal([0.0, 0.0, 0.25, 9.0], Forward([("x", [-2.0, 0.0, 0.5, 3.0], [4])], (g, v) => g.Relu2(v[0])));

    [Fact]
    public void A_value_used_twice_receives_the_sum_of_both_gradients() =>
        Assert.True(MaxRelativeError([In("x", 4)], (g, v) => g.Mul(g.Tanh(v[0]), v[0])) < Tolerance);

    /// <summary>The float64 output of <paramref name="f"/> on the given inputs (forward only).</summary>
    private static double[] Forward(IReadOnlyList<(string Name, double[] Data, long[] Shape)> inputs, Func<OnnxGraph, IReadOnlyList<Value>, Value> f)
    {
        var g = new OnnxGraph(ElementType.Double, "forward");
        g.Output(f(g, inputs.Select(i => g.Input(i.Name, ElementType.Double, i.Shape)).ToList()), "y");
        using var runner = new GraphRunner(g.ToBytes());
        return runner.Run(inputs.ToDictionary(i => i.Name, i => ((Array)i.Data, i.Shape)), ["y"])["y"];
    }
}

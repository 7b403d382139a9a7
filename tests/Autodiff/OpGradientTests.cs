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
    public void Softmax_last_axis() =>
        Assert.True(MaxRelativeError([In("x", 2, 3, 5)], (g, v) => g.Softmax(v[0])) < Tolerance);

    [Theory]
    [InlineData(Activation.Gelu)]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.Tanh)]
    public void Activation_functions(Activation activation) =>
        Assert.True(MaxRelativeError([In("x", 3, 7)], (g, v) => g.Activate(v[0], activation)) < 1e-5);

    [Fact]
    public void A_value_used_twice_receives_the_sum_of_both_gradients() =>
        Assert.True(MaxRelativeError([In("x", 4)], (g, v) => g.Mul(g.Tanh(v[0]), v[0])) < Tolerance);
}

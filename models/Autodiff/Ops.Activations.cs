using Distributed.Models.Graph;

namespace Distributed.Models.Autodiff;

public static partial class Ops
{
    public static Value Activate(this OnnxGraph g, Value x, Activation activation) => activation switch
    {
        Activation.Gelu => g.Gelu(x),
        Activation.Relu => g.Relu(x),
        Activation.Tanh => g.Tanh(x),
        Activation.Relu2 => g.Relu2(x),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };

    // ---- GELU, GPT-2's tanh form: y = 0.5 x (1 + tanh(u)), u = k (x + a x^3), k = sqrt(2/pi), a = 0.044715
    //   dy/dx = 0.5 (1 + t) + 0.5 k x (1 - t^2)(1 + 3 a x^2), t = tanh(u)
    // The forward is ONNX's Gelu-20 kernel; the derivative is written out from primitives because
    // GeluGrad exists only in the discontinued training build.
    private const double GeluA = 0.044715;
    private static readonly double GeluK = Math.Sqrt(2.0 / Math.PI);

    public static Value Gelu(this OnnxGraph g, Value x)
    {
        var y = g.Op("Gelu", [x], x.Type, x.Shape, n => n.String("approximate", "tanh"));
        g.Tape.Record(y, dy =>
        {
            var x2 = g.Mul(x, x);
            var t = g.Op("Tanh", [g.Mul(x, g.Add(g.Scale(x2, GeluA * GeluK), g.Scalar(GeluK)))], x.Type, x.Shape);
            var oneMinusT2 = g.Sub(g.Scalar(1.0), g.Mul(t, t));
            var slope = g.Mul(g.Mul(x, oneMinusT2), g.Add(g.Scale(x2, 1.5 * GeluA * GeluK), g.Scalar(0.5 * GeluK)));
            var derivative = g.Add(g.Add(g.Scale(t, 0.5), g.Scalar(0.5)), slope);
            g.Tape.Accumulate(x, () => g.Mul(dy, derivative));
        });
        return y;
    }

    // ---- ReLU: y = max(x, 0);  dx = dy where x > 0, else 0
    public static Value Relu(this OnnxGraph g, Value x)
    {
        var y = g.Op("Relu", [x], x.Type, x.Shape);
        g.Tape.Record(y, dy =>
        {
            var positive = g.Op("Greater", [x, g.Scalar(0.0)], ElementType.Bool, x.Shape);
            g.Tape.Accumulate(x, () => g.Op("Where", [positive, dy, g.Scalar(0.0)], dy.Type, x.Shape));
        });
        return y;
    }

    // ---- ReLU squared (modded-nanogpt's feed-forward): y = max(x, 0)^2;  dx = dy * 2 max(x, 0)
    public static Value Relu2(this OnnxGraph g, Value x)
    {
        var relu = g.Op("Relu", [x], x.Type, x.Shape, requiresGrad: false);
        var y = g.Op("Mul", [relu, relu], x.Type, x.Shape, requiresGrad: x.RequiresGrad);
        g.Tape.Record(y, dy => g.Tape.Accumulate(x, () => g.Mul(dy, g.Scale(relu, 2.0))));
        return y;
    }

    // ---- SiLU (swish), the gate of LLaMA's SwiGLU: y = x s, s = sigmoid(x);  dx = dy * s (1 + x (1 - s))
    public static Value Silu(this OnnxGraph g, Value x)
    {
        var s = g.Op("Sigmoid", [x], x.Type, x.Shape, requiresGrad: false);
        var y = g.Op("Mul", [x, s], x.Type, x.Shape, requiresGrad: x.RequiresGrad);
        g.Tape.Record(y, dy =>
        {
            var slope = g.Mul(s, g.Add(g.Scalar(1.0), g.Mul(x, g.Sub(g.Scalar(1.0), s))));
            g.Tape.Accumulate(x, () => g.Mul(dy, slope));
        });
        return y;
    }

    // ---- tanh: dx = dy (1 - y^2)
    public static Value Tanh(this OnnxGraph g, Value x)
    {
        var y = g.Op("Tanh", [x], x.Type, x.Shape);
        g.Tape.Record(y, dy => g.Tape.Accumulate(x, () => g.Mul(dy, g.Sub(g.Scalar(1.0), g.Mul(y, y)))));
        return y;
    }
}

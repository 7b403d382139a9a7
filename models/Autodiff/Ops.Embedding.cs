using Distributed.Models.Graph;

namespace Distributed.Models.Autodiff;

public static partial class Ops
{
    // ---- Embedding lookup: y[..., :] = table[ids[...], :]
    //   dtable = zeros, with dy[..., :] added into row ids[...] (ScatterND, reduction "add", so a
    //   token that appears several times in the batch receives the sum of its gradients).
    public static Value Embedding(this OnnxGraph g, Value table, Value ids)
    {
        var y = g.Op("Gather", [table, ids], table.Type, [.. ids.Shape, table.Shape[1]], n => n.Int("axis", 0));
        g.Tape.Record(y, dy =>
        {
            var indices = g.Op("Unsqueeze", [ids, g.Int64s(-1)], ElementType.Int64, [.. ids.Shape, 1]);
            var rows = g.Op("ScatterND", [ZerosLike(g, table), indices, dy], table.Type, table.Shape,
                n => n.String("reduction", "add"));
            g.Tape.Accumulate(table, () => rows);
        });
        return y;
    }

    // ---- Mean cross-entropy of logits [N, V] against targets [N]:
    //   loss = -mean(log_softmax(logits)[i, target_i])
    //   dlogits = (softmax(logits) - onehot(targets)) * dloss / N
    // The one-hot subtraction is a ScatterElements "add" of -1 at each target.
    public static Value CrossEntropy(this OnnxGraph g, Value logits, Value targets)
    {
        var loss = new Value(g.NewName("loss"), logits.Type, [], logits.RequiresGrad);
        var logProbs = new Value(g.NewName("log_probs"), logits.Type, logits.Shape, false);
        g.Node("SoftmaxCrossEntropyLoss", [logits, targets], [loss.Name, logProbs.Name]).String("reduction", "mean");
        g.Tape.Record(loss, dloss =>
        {
            var rows = logits.Shape[0];
            var probs = g.Op("Exp", [logProbs], logits.Type, logits.Shape);
            var targetColumn = g.Op("Unsqueeze", [targets, g.Int64s(-1)], ElementType.Int64, [rows, 1]);
            var minusOne = g.Filled([rows, 1], -1.0);
            var delta = g.Op("ScatterElements", [probs, targetColumn, minusOne], logits.Type, logits.Shape,
                n => n.Int("axis", 1).String("reduction", "add"));
            g.Tape.Accumulate(logits, () => g.Mul(delta, g.Scale(dloss, 1.0 / rows)));
        });
        return loss;
    }
}

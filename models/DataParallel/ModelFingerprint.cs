using System.Security.Cryptography;
using System.Text;
using Distributed.Models.Gpt;
using static System.FormattableString;

namespace Distributed.Models.DataParallel;

/// <summary>
/// Identifies the model a process will train: the graph definition's version, the architecture
/// fields and the parameter table (names, shapes, order). Two processes that agree on it exchange gradients of the same layout.
/// </summary>
public static class ModelFingerprint
{
    /// <summary>Bump when GptModel's math changes in a way the layout and the fields below do not show.</summary>
    private const string GraphVersion = "gpt-graph-1";

    public static string Of(GptConfig config)
    {
        // The architecture fields, since some change the math and not the table (rmsnorm vs a LayerNorm
        // without bias, rope_theta); then every tensor's name and shape.
        var text = new StringBuilder(Invariant(
            $"{GraphVersion}|{config.Activation}|{config.NumHeads}|{config.Norm}|{config.Mlp}|{config.Position}|{config.RopeTheta:R}|{config.Bias}|{config.TieEmbeddings}|{config.QkNorm}"));
        foreach (var view in new ParameterLayout(config).Views)
        {
            text.Append('|').Append(view.Name).Append(':').Append(string.Join('x', view.Shape));
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}

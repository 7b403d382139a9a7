using System.Security.Cryptography;
using System.Text;
using Distributed.Models.Gpt;

namespace Distributed.Models.DataParallel;

/// <summary>
/// Identifies the model a process will train: the parameter table (names, shapes, order) and the
/// graph definition's version. Two processes that agree on it exchange gradients of the same layout.
/// </summary>
public static class ModelFingerprint
{
    /// <summary>Bump when GptModel's math changes in a way the layout does not show.</summary>
    private const string GraphVersion = "gpt-graph-1";

    public static string Of(GptConfig config)
    {
        var text = new StringBuilder(GraphVersion).Append('|').Append(config.Activation).Append('|').Append(config.NumHeads);
        foreach (var view in new ParameterLayout(config).Views)
        {
            text.Append('|').Append(view.Name).Append(':').Append(string.Join('x', view.Shape));
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}

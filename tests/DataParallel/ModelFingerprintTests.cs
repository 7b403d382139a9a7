using Distributed.Models.DataParallel;
using Distributed.Models;

namespace Distributed.Tests.DataParallel;

public sealed class ModelFingerprintTests
{
    // Without biases a LayerNorm has RMSNorm's table, so only the fields tell the two apart.
    private static readonly GptConfig Base = new() { VocabSize = 65, Bias = false };

    [Fact]
    public void Every_architecture_field_changes_the_fingerprint()
    {
        GptConfig[] variants =
        [
            Base,
            Base with { Norm = NormKind.RmsNorm },
            Base with { Mlp = MlpKind.SwiGlu },
            Base with { FeedForwardSize = 100 },
            Base with { Position = PositionKind.Rope },
            Base with { Position = PositionKind.Rope, RopeTheta = 500 },
            Base with { Bias = true },
            Base with { TieEmbeddings = false },
            Base with { QkNorm = true },
            Base with { Activation = Activation.Relu2 },
        ];

        var fingerprints = variants.Select(ModelFingerprint.Of).ToList();

        Assert.Equal(variants.Length, fingerprints.Distinct().Count());
    }

    [Fact]
    public void Training_settings_leave_the_fingerprint_alone() =>
        Assert.Equal(ModelFingerprint.Of(Base),
            ModelFingerprint.Of(Base with { LearningRate = 0.01, MaxSeconds = 60, MaxSteps = 5, Dropout = 0.2, Seed = 1 }));
}

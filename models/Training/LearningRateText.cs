using System.Globalization;

namespace Distributed.Models.Training;

/// <summary>How a learning rate reads wherever it is printed: three significant digits, a lower-case two-digit exponent ("9.86e-04").</summary>
public static class LearningRateText
{
    public static string Format(double learningRate) =>
        double.IsFinite(learningRate) ? learningRate.ToString("0.00e+00", CultureInfo.InvariantCulture) : learningRate.ToString(CultureInfo.InvariantCulture);
}

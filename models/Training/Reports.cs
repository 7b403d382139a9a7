using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distributed.Models.Training;

/// <summary>One optimizer step, as the progress display shows it.</summary>
public readonly record struct StepReport(int Step, int TotalSteps, int Epoch, float Loss, double LearningRate, double TokensPerSecond);

/// <summary>One evaluation: a line of metrics.jsonl.</summary>
public sealed record EvaluationReport(
    [property: JsonPropertyName("step")] int Step,
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("train_loss"), JsonConverter(typeof(UnknownAsNull))] double TrainLoss,
    [property: JsonPropertyName("val_loss"), JsonConverter(typeof(UnknownAsNull))] double ValLoss,
    [property: JsonPropertyName("learning_rate")] double LearningRate,
    [property: JsonPropertyName("tokens_per_sec")] double TokensPerSecond)
{
    /// <summary>exp(val_loss): the average number of equally likely next tokens the model hesitates between.</summary>
    [JsonPropertyName("val_perplexity"), JsonConverter(typeof(UnknownAsNull))]
    public double ValPerplexity => Math.Exp(ValLoss);
}

/// <summary>
/// The end of a run: summary.json. The losses are NaN (null in the file) when the run stopped before
/// its first evaluation.
/// </summary>
public sealed record RunSummary(
    [property: JsonPropertyName("val_loss"), JsonConverter(typeof(UnknownAsNull))] double ValLoss,
    [property: JsonPropertyName("train_loss"), JsonConverter(typeof(UnknownAsNull))] double TrainLoss,
    [property: JsonPropertyName("tokens_per_sec")] double TokensPerSecond,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("steps")] int Steps,
    [property: JsonPropertyName("params")] long Parameters,
    [property: JsonPropertyName("interrupted")] bool Interrupted)
{
    /// <summary>Why the run ended before its last step (divergence, patience, successive halving); null otherwise.</summary>
    [JsonPropertyName("stopped_early")]
    public string? StoppedEarly { get; init; }
}

/// <summary>
/// A loss that is not a finite number (NaN: no evaluation yet, or a validation that could not be scored)
/// is JSON null, as JSON has no NaN; null reads back as NaN.
/// </summary>
public sealed class UnknownAsNull : JsonConverter<double>
{
    public override bool HandleNull => true;

    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        => reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}

/// <summary>What a host wants to hear about while a run trains (progress bar, log lines).</summary>
public interface ITrainingObserver
{
    void OnStep(StepReport report);

    void OnEvaluation(EvaluationReport report);
}

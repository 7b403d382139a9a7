namespace Distributed.Models.Training;

/// <summary>
/// Where a run stands between two steps: everything besides parameters and optimizer moments that
/// a resumed run needs to continue exactly (state.json in a checkpoint).
/// </summary>
public sealed record TrainingState
{
    /// <summary>Optimizer steps completed.</summary>
    public int Step { get; init; }

    /// <summary>The epoch the next step belongs to.</summary>
    public int Epoch { get; init; }

    /// <summary>Index of the next batch within that epoch's shuffled window order.</summary>
    public int BatchInEpoch { get; init; }

    /// <summary>State of the generator that draws dropout masks.</summary>
    public ulong[] RngState { get; init; } = [];

    /// <summary>Wall-clock seconds of training before this point (for the summary of a resumed run).</summary>
    public double Seconds { get; init; }

    /// <summary>Tokens trained on before this point.</summary>
    public long Tokens { get; init; }

    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(this, JsonOptions);

    public static TrainingState FromJson(string json)
        => System.Text.Json.JsonSerializer.Deserialize<TrainingState>(json, JsonOptions)
           ?? throw new InvalidDataException("state.json is empty.");

    private static readonly System.Text.Json.JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };
}

namespace Distributed.Models.Training;

/// <summary>How many optimizer steps a run takes: num_epochs epochs, cut at max_steps when that is set.</summary>
public static class StepBudget
{
    public static int Total(GptConfig config, int stepsPerEpoch)
        => config.MaxSteps > 0 ? Math.Min(config.MaxSteps, config.NumEpochs * stepsPerEpoch) : config.NumEpochs * stepsPerEpoch;
}

namespace Distributed.Models.Training;

/// <summary>
/// Linear warm-up to learning_rate, then cosine decay to min_learning_rate at the last step
/// (nanoGPT's get_lr, whose warm-up is lr * (step + 1) / (warmup + 1)).
/// </summary>
public sealed record LearningRateSchedule(double Peak, double Minimum, int WarmupSteps, int TotalSteps)
{
    public double At(int step)
    {
        if (step < WarmupSteps)
        {
            return Peak * (step + 1) / (WarmupSteps + 1);
        }
        if (step >= TotalSteps)
        {
            return Minimum;
        }
        var progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        return Minimum + 0.5 * (1 + Math.Cos(Math.PI * progress)) * (Peak - Minimum);
    }
}

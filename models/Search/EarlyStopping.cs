namespace Distributed.Models.Search;

/// <summary>
/// Patience: a trial stops once <c>patience</c> evaluations in a row have not beaten its best val loss
/// (Keras's EarlyStopping rule). Pure: the caller keeps the losses.
/// </summary>
public sealed class EarlyStopping
{
    public EarlyStopping(int patience)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(patience, 1);
        Patience = patience;
    }

    public int Patience { get; }

    /// <param name="valLossesSoFar">Every evaluation's val loss, oldest first.</param>
    public bool ShouldStop(IReadOnlyList<double> valLossesSoFar)
    {
        // Only a strictly lower loss is progress; NaN (a diverged evaluation) never is, so a trial
        // that only produces NaN stops after `patience` evaluations too.
        var bestIndex = -1;
        for (var i = 0; i < valLossesSoFar.Count; i++)
        {
            if (bestIndex < 0 ? !double.IsNaN(valLossesSoFar[i]) : valLossesSoFar[i] < valLossesSoFar[bestIndex])
            {
                bestIndex = i;
            }
        }
        var sinceBest = valLossesSoFar.Count - 1 - bestIndex;
        return sinceBest >= Patience;
    }
}

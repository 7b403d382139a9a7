namespace Distributed.Models.Experiments;

/// <summary>Evaluations: record one (keeping the trial's best validation loss current) and list a trial's.</summary>
public sealed partial class ExperimentStore
{
    /// <summary>
    /// Records an evaluation of a trial and updates its best validation loss, in one transaction. Recording a
    /// step again replaces the earlier row: a trial resumed from an older checkpoint repeats those evaluations.
    /// </summary>
    public void RecordEvaluation(long trialId, EvaluationRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentOutOfRangeException.ThrowIfNegative(row.Step, nameof(row));
        ArgumentOutOfRangeException.ThrowIfNegative(row.Epoch, nameof(row));
        Write(db =>
        {
            TrialStatusOf(db, trialId); // a clear error for an unknown trial instead of a foreign key failure
            db.Execute(
                """
                INSERT INTO evaluations (trial_id, step, epoch, train_loss, val_loss, learning_rate, tokens_per_sec, recorded_at)
                VALUES ($id, $step, $epoch, $train, $val, $lr, $tps, $now)
                ON CONFLICT (trial_id, step) DO UPDATE SET
                    epoch = excluded.epoch, train_loss = excluded.train_loss, val_loss = excluded.val_loss,
                    learning_rate = excluded.learning_rate, tokens_per_sec = excluded.tokens_per_sec,
                    recorded_at = excluded.recorded_at
                """,
                ("$id", trialId), ("$step", row.Step), ("$epoch", row.Epoch), ("$train", row.TrainLoss),
                ("$val", row.ValLoss), ("$lr", row.LearningRate), ("$tps", row.TokensPerSecond), ("$now", Now));
            db.Execute(UpdateBestValLoss, ("$id", trialId));
        });
    }

    /// <summary>The trial's evaluations in step order.</summary>
    public IReadOnlyList<EvaluationRow> Evaluations(long trialId) => Read(db => db.Query(
        """
        SELECT step, epoch, train_loss, val_loss, learning_rate, tokens_per_sec
        FROM evaluations WHERE trial_id = $id ORDER BY step
        """,
        r => new EvaluationRow(
            r.GetInt32(0), r.GetInt32(1),
            SqlSession.ReadDoubleOrNaN(r, 2), SqlSession.ReadDoubleOrNaN(r, 3),
            SqlSession.ReadDoubleOrNaN(r, 4), SqlSession.ReadDoubleOrNaN(r, 5)),
        ("$id", trialId)));
}

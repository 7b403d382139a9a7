using Distributed.Coordinator.Distributed;
using Distributed.Models.Training;

namespace Distributed.Tests.Coordinator;

/// <summary>The run's state machine driven directly, as its transports drive it: no network, no processes.</summary>
public sealed class DistributedRunTests
{
    [Fact]
    public void Two_members_get_the_batch_weighted_mean_and_both_see_the_step_close()
    {
        using var h = new RunHarness(workers: 2, batchSize: 3);
        var (a, b) = (h.Join("a"), h.Join("b"));
        var (ta, tb) = h.AssignedBoth(a, b);
        var (la, lb) = (h.Open(a, ta), h.Open(b, tb));

        h.SendGradient(a, ta, 0, 1f, loss: 2f);
        h.SendGradient(b, tb, 0, 4f, loss: 5f);
        h.Until(() => la.Closed.Count == 1 && lb.Closed.Count == 1, "the step closed");

        Assert.Equal((0, 1, 2, 1, 3), (ta.Rank, tb.Rank, ta.BatchSize, tb.BatchSize, ta.GlobalBatchSize));
        Assert.Equal(h.Parameters, la.Reduced.Sum(r => r.Values.Length));
        Assert.All(la.Reduced.SelectMany(r => r.Values), v => Assert.Equal(2f, v, 5));   // (2*1 + 1*4) / 3
        Assert.Equal(3f, la.Closed.Single().Loss, 5);                                    // (2*2 + 1*5) / 3
        Assert.Equal(1, h.Run.CompletedSteps);
    }

    [Fact]
    public void A_call_in_another_workers_name_is_refused_and_harms_nobody()
    {
        using var h = new RunHarness(workers: 2);
        var (a, b) = (h.Join("a"), h.Join("b"));

        var error = Assert.Throws<RunRefusedException>(() => h.Run.Authenticate(b.Id, a.Secret));
        var unknown = Assert.Throws<RunRefusedException>(() => h.Run.Authenticate("no-such-worker", a.Secret));

        Assert.Equal(RefusalKind.Unauthenticated, error.Refusal.Kind);
        Assert.Equal(RefusalKind.UnknownWorker, unknown.Refusal.Kind);
        Assert.Same(b, h.Run.Authenticate(b.Id, b.Secret));
        Assert.False(b.Dropped);
        Assert.True(h.Run.Heartbeat(b.Id, b.Secret));
        Assert.Throws<RunRefusedException>(() => h.Run.Heartbeat(b.Id, "forged"));
    }

    [Fact]
    public void Joined_workers_that_never_ask_for_work_are_not_admitted_and_are_dropped_when_silent()
    {
        using var h = new RunHarness(workers: 2, timeout: TimeSpan.FromSeconds(1));
        var ghosts = new[] { h.Join("ghost-1"), h.Join("ghost-2") };
        var (a, b) = (h.Join("a"), h.Join("b"));

        var (ta, tb) = h.AssignedBoth(a, b);
        var (la, lb) = (h.Open(a, ta), h.Open(b, tb));
        // a and b keep beating, as their workers would; the ghosts went silent after joining.
        h.Until(() => h.Run.Heartbeat(a.Id, a.Secret) && h.Run.Heartbeat(b.Id, b.Secret) && ghosts.All(g => g.Dropped), "the ghosts dropped");
        h.SendGradient(a, ta, 0, 1f);
        h.SendGradient(b, tb, 0, 1f);

        Assert.Equal(2, ta.WorldSize);
        Assert.All(ghosts, g => Assert.Equal(-1, g.Rank));
        Assert.True(h.Log.Contains("Lost ghost-1"), h.Log.ToString());
        h.Until(() => la.Closed.Count == 1 && lb.Closed.Count == 1, "the members' step closed");
    }

    [Theory]
    [InlineData("twice", "bucket 0 of step 0 twice")]
    [InlineData("out-of-range", "bucket index 7, outside [0, 1)")]
    [InlineData("short", "it must be")]
    [InlineData("nan", "NaN or infinity in gradient bucket 0")]
    [InlineData("wrong-step", "a gradient for step 3, but the run is at step 0")]
    public void A_bad_bucket_drops_its_sender_and_the_other_member_is_resharded(string problem, string message)
    {
        using var h = new RunHarness(workers: 2);
        var (a, b) = (h.Join("a"), h.Join("b"));
        var (ta, tb) = h.AssignedBoth(a, b);
        var (_, lb) = (h.Open(a, ta), h.Open(b, tb));
        var good = RunHarness.Bytes(new float[h.Parameters]);
        var bad = problem == "nan" ? RunHarness.Bytes(Enumerable.Repeat(float.NaN, h.Parameters).ToArray()) : good;
        if (problem == "twice")
        {
            h.Run.AcceptBucket(a, a.Link!, ta.Generation, 0, 0, good, 1f);
        }

        var error = Assert.Throws<RunRefusedException>(() => h.Run.AcceptBucket(a, a.Link!, ta.Generation, problem == "wrong-step" ? 3 : 0,
            problem == "out-of-range" ? 7 : 0, problem == "short" ? good.AsSpan(4) : bad, 1f));

        Assert.Equal(RefusalKind.InvalidData, error.Refusal.Kind);
        Assert.Contains(message, error.Message);
        Assert.Contains("(a, ", error.Message);
        Assert.True(a.Dropped);
        Assert.True(lb.EndedByMembershipChange);
        var again = h.Assigned(b)[0];
        Assert.Equal((tb.Generation + 1, 1, 0), (again.Generation, again.WorldSize, again.FirstStep));
    }

    [Fact]
    public void One_members_nan_loss_drops_that_member_and_the_others_redo_the_step()
    {
        using var h = new RunHarness(workers: 2);
        var (a, b) = (h.Join("a"), h.Join("b"));
        var (ta, tb) = h.AssignedBoth(a, b);
        var (_, lb) = (h.Open(a, ta), h.Open(b, tb));

        h.SendGradient(a, ta, 0, float.NaN, loss: float.NaN);
        h.SendGradient(b, tb, 0, 1f);

        Assert.True(a.Dropped);
        Assert.Contains("not finite", a.DropReason);
        Assert.True(lb.EndedByMembershipChange);
        Assert.Empty(lb.Reduced);   // nothing of the NaN member was ever summed
        var redo = h.Assigned(b)[0];
        var link = h.Open(b, redo);
        h.SendGradient(b, redo, 0, 1f);
        h.Until(() => link.Closed.Count == 1, "the redone step closed");
        Assert.False(h.Run.Completion.IsCompleted);
    }

    [Fact]
    public async Task Nan_loss_on_every_member_stops_the_run_as_diverged()
    {
        using var h = new RunHarness(workers: 2);
        var (a, b) = (h.Join("a"), h.Join("b"));
        var (ta, tb) = h.AssignedBoth(a, b);
        h.Open(a, ta);
        h.Open(b, tb);

        h.SendGradient(a, ta, 0, 1f, loss: float.PositiveInfinity);
        h.SendGradient(b, tb, 0, 1f, loss: float.NaN);

        var summary = await h.Run.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("diverged", summary.StoppedEarly);
        Assert.False(summary.Interrupted);
        Assert.False(a.Dropped || b.Dropped);
    }

    [Fact]
    public void A_member_lost_mid_step_is_replaced_by_a_waiting_worker_and_the_step_is_redone()
    {
        using var h = new RunHarness(workers: 2, minWorkers: 2);
        var (a, b) = (h.Join("a"), h.Join("b"));
        var (ta, tb) = h.AssignedBoth(a, b);
        var la = h.Open(a, ta);
        h.Open(b, tb);
        var spare = h.Join("spare");
        Assert.Equal(AssignmentKind.Wait, h.Ask(spare).Kind);   // ready, waiting for a place

        h.SendGradient(a, ta, 0, 1f);
        h.Run.Leave(b, "SIGTERM");

        Assert.True(la.EndedByMembershipChange);
        Assert.Empty(la.Closed);
        Assert.Equal(0, h.Run.CompletedSteps);
        var (again, joined) = h.AssignedBoth(a, spare);
        Assert.Equal((ta.Generation + 1, 2, 0), (again.Generation, again.WorldSize, again.FirstStep));
        Assert.Equal(1, joined.Rank);
        Assert.True(h.Log.Contains("left: SIGTERM"));
    }

    [Fact]
    public void An_epoch_end_reshards_into_a_new_generation_without_aborting_the_members()
    {
        using var h = new RunHarness(workers: 2, maxSteps: 1_000, evalInterval: 1_000);
        var (a, b) = (h.Join("a"), h.Join("b"));
        var (ta, tb) = h.AssignedBoth(a, b);
        var (la, lb) = (h.Open(a, ta), h.Open(b, tb));
        var perEpoch = h.Run.StepsPerEpoch;

        for (var step = 0; step < ta.Steps; step++)
        {
            h.SendGradient(a, ta, step, 1f);
            h.SendGradient(b, tb, step, 1f);
            var closed = step + 1;
            h.Until(() => la.Closed.Count == closed, $"step {step} closed");
        }
        h.Run.CloseStream(a, la);
        h.Run.CloseStream(b, lb);
        var next = h.Assigned(a)[0];

        Assert.Equal(perEpoch, ta.Steps);
        Assert.False(ta.ValidateAtEnd);
        Assert.False(la.EndedByMembershipChange);
        Assert.Equal((ta.Generation + 1, 1, perEpoch, 0), (next.Generation, next.Epoch, next.FirstStep, next.Rank));
    }

    [Fact]
    public void A_lost_members_validation_share_is_scored_by_the_coordinator_and_the_row_is_written()
    {
        using var h = new RunHarness(workers: 2, maxSteps: 4, evalInterval: 2);
        var (a, b) = (h.Join("a"), h.Join("b"));
        var (ta, tb) = h.AssignedBoth(a, b);
        var (la, lb) = (h.Open(a, ta), h.Open(b, tb));
        var validated = new List<EvaluationReport>();
        h.Run.Validated += validated.Add;
        for (var step = 0; step < 2; step++)
        {
            h.SendGradient(a, ta, step, 0.5f);
            h.SendGradient(b, tb, step, 0.5f);
            var closed = step + 1;
            h.Until(() => la.Closed.Count == closed && lb.Closed.Count == closed, $"step {step} closed");
        }
        var shareTokens = (long)new Models.DataParallel.DataParallelLayout(2, 4).ValidationWindows(h.ValidationWindows, 0).Length * 8;

        var forged = Assert.Throws<RunRefusedException>(() => h.Run.ReportValidation(b, tb.Generation, 1.0, shareTokens + 8));
        h.Run.ReportValidation(a, ta.Generation, 2.0 * shareTokens, shareTokens);
        // The coordinator scores b's share on the step's state, which it asks of a (it keeps none of its own in step).
        Assert.Equal(AssignmentKind.UploadState, h.Ask(a).Kind);
        h.Until(() => validated.Count == 1, "the validation finished");

        Assert.Equal(RefusalKind.InvalidData, forged.Refusal.Kind);
        Assert.True(b.Dropped);   // a forged share drops its sender; the coordinator scored it instead
        Assert.True(ta.ValidateAtEnd);
        Assert.Equal(2, validated[0].Step);
        // The token-weighted mean of a's reported share and b's, which the coordinator scored on a's state.
        var bWindows = new Models.DataParallel.DataParallelLayout(2, 4).ValidationWindows(h.ValidationWindows, 1);
        using var scorer = new Models.Runtime.GptEvaluationSession(h.Run.Config, h.Run.Replica.Parameters, threads: 1);
        var bLoss = scorer.MeanLoss(new Models.DataParallel.WindowSubset(h.Sampler.Validation, bWindows));
        var bTokens = bWindows.Length * 8L;
        Assert.Equal((2.0 * shareTokens + bLoss * bTokens) / (shareTokens + bTokens), validated[0].ValLoss, 9);
        h.Until(() => File.Exists(Path.Combine(h.Directory, MetricsLog.FileName)) && MetricsLog.Read(h.Directory).Count > 0, "metrics.jsonl written");
        Assert.Equal([2], MetricsLog.Read(h.Directory).Select(r => r.Step));
    }

    [Fact]
    public void With_micro_batches_and_eval_batches_members_train_their_share_and_score_a_share_of_the_sampled_windows()
    {
        using var h = new RunHarness(workers: 2, batchSize: 8, maxSteps: 2, evalInterval: 2, gradAccumSteps: 2, evalBatches: 3);
        var (a, b) = (h.Join("a"), h.Join("b"));
        var (ta, tb) = h.AssignedBoth(a, b);
        var shards = new[] { (a, ta), (b, tb) }.Select(m => h.Run.Shard(m.Item1, m.Item2.Generation)).ToArray();
        var (la, lb) = (h.Open(a, ta), h.Open(b, tb));
        var validated = new List<EvaluationReport>();
        h.Run.Validated += validated.Add;
        for (var step = 0; step < 2; step++)
        {
            h.SendGradient(a, ta, step, 0.5f);
            h.SendGradient(b, tb, step, 0.5f);
            var closed = step + 1;
            h.Until(() => la.Closed.Count == closed && lb.Closed.Count == closed, $"step {step} closed");
        }

        // Each member trains 2 micro-batches of 2 per step; the 3 x 8 windows sampled for the evaluation after step 2 are shared out.
        Assert.Equal((4, 4, 2), (ta.BatchSize, tb.BatchSize, ta.Steps));
        Assert.All(shards, s => Assert.Equal(2 * 4 * 9, s.Train.Length));
        var sample = h.Sampler.EvaluationWindows(step: 2, evalBatches: 3, batchSize: 8);
        Assert.Equal(Enumerable.Range(0, sample.Count).Select(i => string.Join(',', sample.Window(i).ToArray())).Order(),
            shards.SelectMany(s => s.Validation.Chunk(9)).Select(w => string.Join(',', w)).Order());
        var tokens = shards.Select(s => s.Validation.Length / 9 * 8L).ToArray();
        h.Run.ReportValidation(a, ta.Generation, 1.0 * tokens[0], tokens[0]);
        h.Run.ReportValidation(b, tb.Generation, 3.0 * tokens[1], tokens[1]);
        h.Until(() => validated.Count == 1, "the validation finished");
        Assert.Equal(2.0, validated[0].ValLoss, 9);   // 12 windows at 1.0 and 12 at 3.0
    }

    [Fact]
    public void A_slow_step_names_whom_it_waits_for_before_the_step_timeout_drops_them()
    {
        using var h = new RunHarness(workers: 2, stepTimeout: TimeSpan.FromSeconds(3));
        var (a, b) = (h.Join("a"), h.Join("b"));
        var (ta, tb) = h.AssignedBoth(a, b);
        h.Open(a, ta);
        h.Open(b, tb);
        h.SendGradient(a, ta, 0, 1f);

        h.Until(() => h.Log.Contains("Step 0 has waited"), "a hang warning");
        Assert.False(b.Dropped);
        Assert.Contains(h.Log.Lines, l => l.Contains("Step 0 has waited") && l.Contains("rank 1 (b") && l.Contains("its gradient (none of 1 buckets yet)")
                                          && !l.Contains("rank 0 (a"));
        h.Until(() => b.Dropped, "the stalled member dropped");
        Assert.Contains("--step-timeout 3 s", b.DropReason);
    }

    [Fact]
    public void A_stop_before_the_first_evaluation_checkpoints_and_knows_no_loss_yet()
    {
        using var h = new RunHarness(workers: 1);
        var a = h.Join("a");
        var ta = h.Assigned(a)[0];
        h.Open(a, ta);

        var summary = h.Run.Interrupt();

        Assert.True(summary.Interrupted);
        Assert.True(double.IsNaN(summary.ValLoss));
        Assert.True(File.Exists(Path.Combine(h.Directory, "manifest.json")));
        Assert.Equal(AssignmentKind.Stop, h.Ask(a).Kind);
    }

    [Fact]
    public async Task State_downloads_are_bounded_and_one_given_up_while_waiting_leaves_no_trace()
    {
        using var h = new RunHarness(workers: 3, batchSize: 3);
        var (a, b, c) = (h.Join("a"), h.Join("b"), h.Join("c"));
        h.Assigned(a, b, c);

        using var first = await h.Run.BeginStateDownload(a, CancellationToken.None);
        var second = await h.Run.BeginStateDownload(b, CancellationToken.None);
        var twice = await Assert.ThrowsAsync<RunRefusedException>(() => h.Run.BeginStateDownload(a, CancellationToken.None));
        using var impatient = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => h.Run.BeginStateDownload(c, impatient.Token));
        second.Dispose();
        using var third = await h.Run.BeginStateDownload(c, CancellationToken.None);   // not "already downloading"

        Assert.Equal(RefusalKind.Busy, twice.Refusal.Kind);
        Assert.Equal(h.Run.Replica.Parameters.Data, third.Tensors[0].Data);
    }
}

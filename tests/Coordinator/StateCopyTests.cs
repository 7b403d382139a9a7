using Distributed.Coordinator.Distributed;
using Distributed.Models.Checkpoints;
using Distributed.Models.Training;

namespace Distributed.Tests.Coordinator;

/// <summary>
/// The coordinator takes no optimizer step: checkpoints, joiners and lost validation shares get a member's
/// state, asked of one member that holds the run's step; when no live worker holds it, the run goes back.
/// </summary>
public sealed class StateCopyTests
{
    [Fact]
    public void An_evaluations_checkpoint_waits_for_a_members_state_and_holds_exactly_what_it_sent()
    {
        using var h = new RunHarness(workers: 2, maxSteps: 4, evalInterval: 2);
        var (a, b) = (h.Join("a"), h.Join("b"));
        var (ta, tb) = h.AssignedBoth(a, b);
        TrainSteps(h, (a, ta), (b, tb), steps: 2);
        var validated = new List<EvaluationReport>();
        h.Run.Validated += validated.Add;
        var shares = Shares(h);
        h.Run.ReportValidation(a, ta.Generation, shares[0], shares[0]);
        h.Run.ReportValidation(b, tb.Generation, shares[1], shares[1]);
        h.Until(() => validated.Count == 1, "the validation finished");
        Thread.Sleep(200);
        var before = File.Exists(Path.Combine(h.Directory, CheckpointStore.ManifestFile));
        var sent = h.Run.Replica.Parameters.Data.Select(v => 2 * v).ToArray();

        var ask = h.Run.NextAssignment(a, h.StateOf(a));
        h.Upload(a, ask.FirstStep, scale: 2f);
        h.Until(() => File.Exists(Path.Combine(h.Directory, CheckpointStore.ManifestFile)), "the checkpoint written");

        Assert.False(before);   // the copy was still step 0's: nothing to checkpoint until a member sent step 2's
        Assert.Equal((AssignmentKind.UploadState, 2), (ask.Kind, ask.FirstStep));
        Assert.Equal(2, h.Run.StateCopyStep);
        h.Until(() => Checkpoint(h).Step == 2, "the checkpoint at step 2");
        var (replica, state) = Checkpoint(h);
        Assert.Equal(2, state);
        Assert.Equal(sent, replica.Parameters.Data);
        Assert.Equal([2], MetricsLog.Read(h.Directory).Select(r => r.Step));
    }

    [Fact]
    public void Each_evaluations_checkpoint_holds_the_state_sent_for_it_when_uploads_reuse_their_buffers()
    {
        using var h = new RunHarness(workers: 2, maxSteps: 6, evalInterval: 2);
        var (a, b) = (h.Join("a"), h.Join("b"));
        var initial = h.Run.Replica.Parameters.Data.ToArray();
        var (ta, tb) = h.AssignedBoth(a, b);
        foreach (var (scale, step) in new[] { (2f, 2), (3f, 4) })
        {
            TrainSteps(h, (a, ta), (b, tb), steps: 2, from: step - 2);
            var shares = Shares(h);
            h.Run.ReportValidation(a, ta.Generation, shares[0], shares[0]);
            h.Run.ReportValidation(b, tb.Generation, shares[1], shares[1]);
            h.Until(() => h.Run.NextAssignment(a, step) is { Kind: AssignmentKind.UploadState }, $"a asked for step {step}'s state");
            h.Upload(a, step, scale);
            h.Until(() => File.Exists(Path.Combine(h.Directory, CheckpointStore.ManifestFile)) && Checkpoint(h).Step == step, $"the checkpoint at step {step}");
            Assert.Equal(initial.Select(v => v * (step == 2 ? 2f : 6f)).ToArray(), Checkpoint(h).Replica.Parameters.Data);
            (ta, tb) = h.AssignedBoth(a, b);
        }
    }

    [Fact]
    public async Task A_joiner_downloads_the_runs_step_which_a_survivor_sends_before_it_trains_on()
    {
        using var h = new RunHarness(workers: 2, minWorkers: 2);
        var (a, b) = (h.Join("a"), h.Join("b"));
        var (ta, tb) = h.AssignedBoth(a, b);
        TrainSteps(h, (a, ta), (b, tb), steps: 1);
        var spare = h.Join("spare");
        Assert.Equal(AssignmentKind.Wait, h.Ask(spare).Kind);

        h.Run.Leave(b, "SIGTERM");
        var joined = h.Run.NextAssignment(spare, h.StateOf(spare));
        var download = h.Run.BeginStateDownload(spare, CancellationToken.None);
        await Task.Delay(200);
        var waited = !download.IsCompleted;
        var first = h.Run.NextAssignment(a, h.StateOf(a));   // the survivor is asked first, before it trains on
        h.Upload(a, first.FirstStep, scale: 3f);
        using var state = await download;
        var again = h.Assigned(a)[0];

        Assert.Equal((AssignmentKind.Train, 1), (joined.Kind, joined.FirstStep));
        Assert.True(waited, "the download waited for the survivor's state");
        Assert.Equal((AssignmentKind.UploadState, 1), (first.Kind, first.FirstStep));
        Assert.Equal(1, state.Step);
        Assert.Equal(h.Run.Replica.Parameters.Data, state.Tensors[0].Data);
        Assert.Equal((AssignmentKind.Train, 1, joined.Generation), (again.Kind, again.FirstStep, again.Generation));
    }

    [Fact]
    public async Task An_uploader_that_asks_again_is_asked_again_and_one_lost_while_sending_leaves_the_turn_to_another()
    {
        using var h = new RunHarness(workers: 3, minWorkers: 2, batchSize: 3);
        var (a, b, c) = (h.Join("a"), h.Join("b"), h.Join("c"));
        var assigned = h.Assigned(a, b, c);
        var links = assigned.Select((t, i) => h.Open(new[] { a, b, c }[i], t)).ToArray();
        h.SendGradient(a, assigned[0], 0, 1f);
        h.SendGradient(b, assigned[1], 0, 1f);
        h.SendGradient(c, assigned[2], 0, 1f);
        h.Until(() => links.All(l => l.Closed.Count == 1), "step 0 closed");
        var spare = h.Join("spare");
        Assert.Equal(AssignmentKind.Wait, h.Ask(spare).Kind);
        h.Run.Leave(c, "SIGTERM");   // the spare takes c's place and needs the state of step 1
        Assert.Equal(AssignmentKind.Train, h.Run.NextAssignment(spare, -1).Kind);
        var download = h.Run.BeginStateDownload(spare, CancellationToken.None);

        var asked = h.Run.NextAssignment(a, 1).Kind;
        var askedAgain = h.Run.NextAssignment(a, 1).Kind;   // its reply was lost, or its upload failed before it opened
        var sending = h.Run.BeginStateUpload(a, 1);
        var whileSending = h.Run.NextAssignment(b, 1).Kind;
        h.Run.Leave(a, "SIGTERM");   // lost while sending: b, the other holder, is asked
        var afterLoss = h.Run.NextAssignment(b, 1).Kind;
        h.Upload(b, 1);
        var late = Assert.Throws<RunRefusedException>(() => h.Run.CompleteStateUpload(a, sending));
        using var state = await download.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal((AssignmentKind.UploadState, AssignmentKind.UploadState), (asked, askedAgain));
        Assert.Equal(AssignmentKind.Train, whileSending);
        Assert.Equal(AssignmentKind.UploadState, afterLoss);
        Assert.Equal(RefusalKind.Stale, late.Refusal.Kind);
        Assert.Equal(1, state.Step);
        sending.Dispose();
    }

    [Fact]
    public void When_every_worker_that_held_the_step_is_lost_the_run_goes_back_to_its_copy()
    {
        using var h = new RunHarness(workers: 2, minWorkers: 1, maxSteps: 100, evalInterval: 100);
        var (a, b) = (h.Join("a"), h.Join("b"));
        var (ta, tb) = h.AssignedBoth(a, b);
        TrainSteps(h, (a, ta), (b, tb), steps: 3);
        var (c, d) = (h.Join("c"), h.Join("d"));
        Assert.Equal(AssignmentKind.Wait, h.Ask(c).Kind);
        Assert.Equal(AssignmentKind.Wait, h.Ask(d).Kind);

        h.Run.Leave(a, "SIGTERM");
        h.Run.Leave(b, "SIGTERM");
        var (tc, td) = h.AssignedBoth(c, d);

        Assert.Equal((0, 0), (tc.FirstStep, td.FirstStep));
        Assert.Equal(0, h.Run.CompletedSteps);
        Assert.True(h.Log.Contains("No worker holds the state of step 3 any more: going back to step 0"));
    }

    [Fact]
    public void An_upload_nobody_asked_for_is_refused_and_a_corrupt_one_drops_its_sender_and_is_asked_of_another()
    {
        using var h = new RunHarness(workers: 2, minWorkers: 1, maxSteps: 100, evalInterval: 100);
        var (a, b) = (h.Join("a"), h.Join("b"));
        var (ta, tb) = h.AssignedBoth(a, b);
        TrainSteps(h, (a, ta), (b, tb), steps: 1);
        var spare = h.Join("spare");
        Assert.Equal(AssignmentKind.Wait, h.Ask(spare).Kind);
        h.Run.Leave(b, "SIGTERM");   // the spare takes its place and needs the state of step 1

        var unasked = Assert.Throws<RunRefusedException>(() => h.Run.BeginStateUpload(spare, 1));
        Assert.Equal(AssignmentKind.UploadState, h.Run.NextAssignment(a, h.StateOf(a)).Kind);
        using var upload = h.Run.BeginStateUpload(a, 1);
        var problem = upload.Put(ModelReplica.ParametersName, 0, new byte[8], h.Parameters, "0000");

        Assert.Equal(RefusalKind.Stale, unasked.Refusal.Kind);
        Assert.NotNull(problem);
        var dropped = Assert.Throws<RunRefusedException>(() => h.Run.RejectStateUpload(a, problem!));
        Assert.Equal(RefusalKind.InvalidData, dropped.Refusal.Kind);
        Assert.True(a.Dropped);
        Assert.Contains("arrived corrupted", problem);
    }

    [Fact]
    public void A_stop_mid_run_checkpoints_the_members_state_of_the_step_it_stopped_at()
    {
        using var h = new RunHarness(workers: 2, maxSteps: 100, evalInterval: 100);
        var (a, b) = (h.Join("a"), h.Join("b"));
        var (ta, tb) = h.AssignedBoth(a, b);
        TrainSteps(h, (a, ta), (b, tb), steps: 3);

        var summary = h.Interrupt(a, b);

        Assert.True(summary.Interrupted);
        Assert.Equal((3, 3), (summary.Steps, Checkpoint(h).Step));
        Assert.True(h.Log.Contains("Took the state of step 3 from"));
    }

    private static void TrainSteps(RunHarness h, (WorkerSlot Slot, WorkAssignment Assignment) a, (WorkerSlot Slot, WorkAssignment Assignment) b, int steps, int from = 0)
    {
        var (la, lb) = (h.Open(a.Slot, a.Assignment), h.Open(b.Slot, b.Assignment));
        for (var step = from; step < from + steps; step++)
        {
            h.SendGradient(a.Slot, a.Assignment, step, 0.5f);
            h.SendGradient(b.Slot, b.Assignment, step, 0.5f);
            var closed = step - from + 1;
            h.Until(() => la.Closed.Count == closed && lb.Closed.Count == closed, $"step {step} closed");
        }
    }

    private static long[] Shares(RunHarness h)
    {
        var layout = new Models.DataParallel.DataParallelLayout(2, 4);
        return [layout.ValidationWindows(h.ValidationWindows, 0).Length * 8L, layout.ValidationWindows(h.ValidationWindows, 1).Length * 8L];
    }

    private static (ModelReplica Replica, int Step) Checkpoint(RunHarness h)
    {
        var replica = new ModelReplica(h.Run.Config);
        var state = RunCheckpoint.Restore(replica, CheckpointStore.Load(h.Directory));
        return (replica, state.Step);
    }
}

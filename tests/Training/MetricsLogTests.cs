using Distributed.Models.Training;
using Distributed.Tests.Checkpoints;

namespace Distributed.Tests.Training;

public sealed class MetricsLogTests : IDisposable
{
    private readonly TempDirectory _out = new();

    public void Dispose() => _out.Dispose();

    [Fact]
    public void Resuming_from_a_checkpoint_drops_the_rows_of_the_steps_it_trains_again()
    {
        foreach (var step in new[] { 20, 40, 60 })
        {
            MetricsLog.Append(_out.Path, new EvaluationReport(step, 0, 2.0, 2.1, 1e-3, 1000));
        }

        MetricsLog.DropAfter(_out.Path, 40);
        MetricsLog.Append(_out.Path, new EvaluationReport(60, 0, 1.9, 2.0, 1e-3, 1000));

        Assert.Equal([(20, 2.1), (40, 2.1), (60, 2.0)], MetricsLog.Read(_out.Path).Select(r => (r.Step, r.ValLoss)));
    }
}

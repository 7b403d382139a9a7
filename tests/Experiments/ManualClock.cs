namespace Distributed.Tests.Experiments;

/// <summary>A clock the test moves by hand, so stored timestamps and durations can be checked exactly.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}

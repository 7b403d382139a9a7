namespace Distributed.Tests;

/// <summary>A program from the machine's packages (promtool, chromium) that some tests need; .ci/run installs each.</summary>
internal static class SystemTool
{
    /// <summary><paramref name="name"/> on the PATH; null when it is not installed.</summary>
    public static string? Find(string name) => (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(directory => Path.Combine(directory, name))
        .FirstOrDefault(File.Exists);

    /// <summary>
    /// Why a test that needs the tool at <paramref name="path"/> is skipped here (<paramref name="reason"/>); null when it runs.
    /// Never skipped under CI, where a missing tool fails the test.
    /// </summary>
    public static string? Missing(string? path, string reason) => path is null && Environment.GetEnvironmentVariable("CI") is null ? reason : null;
}

namespace Distributed.Tests;

/// <summary>The repository the tests were built from, for tests of files it ships (configs/, deploy/, data/).</summary>
internal static class Repository
{
    /// <summary>The folder holding Distributed.sln, found from the test's output folder up.</summary>
    public static string Root()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Distributed.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new DirectoryNotFoundException($"No Distributed.sln above {AppContext.BaseDirectory}.");
    }
}

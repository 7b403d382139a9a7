namespace Distributed.Protocol;

/// <summary>Which machine this is, for the same-host guess of the shared-memory data plane (a hint only: the files prove it).</summary>
public static class HostIdentity
{
    private const string BootIdFile = "/proc/sys/kernel/random/boot_id";

    /// <summary>Linux's per-boot random id, or "" where there is none.</summary>
    public static string BootId()
    {
        try
        {
            return File.Exists(BootIdFile) ? File.ReadAllText(BootIdFile).Trim() : "";
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }
}

using System.Security.Cryptography.X509Certificates;

namespace Distributed.Protocol;

/// <summary>How a client secures its https:// connection to the coordinator.</summary>
public sealed record ClientTls
{
    /// <summary>CAs trusted for the coordinator's certificate instead of the system's roots (the worker's --ca); the host name is still checked.</summary>
    public X509Certificate2Collection? TrustedCa { get; init; }

    /// <summary>This client's certificate, for a coordinator that requires one (the worker's --tls-cert and --tls-key).</summary>
    public X509Certificate2? Certificate { get; init; }
}

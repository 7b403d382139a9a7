using System.Security.Cryptography.X509Certificates;
using Distributed.Protocol;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Distributed.Coordinator.Distributed;

/// <summary>The coordinator's TLS: its certificate and, for mutual TLS, the CA whose client certificates it admits.</summary>
public sealed record ServerTls
{
    public required X509Certificate2 Certificate { get; init; }

    /// <summary>Intermediate CAs sent along with the certificate.</summary>
    public X509Certificate2Collection Chain { get; init; } = [];

    /// <summary>null: any client may connect (the run token still guards every call); else only clients with a certificate this CA signed.</summary>
    public X509Certificate2Collection? ClientCa { get; init; }

    /// <summary>Reads serve's --tls-cert, --tls-key and --client-ca PEM files.</summary>
    public static ServerTls Load(string certificateFile, string keyFile, string? clientCaFile)
    {
        var (certificate, chain) = TlsFiles.LoadCertificate(certificateFile, keyFile, "--tls-cert", "--tls-key");
        return new ServerTls
        {
            Certificate = certificate,
            Chain = chain,
            ClientCa = clientCaFile is null ? null : TlsFiles.LoadCertificates(clientCaFile, "--client-ca"),
        };
    }

    public void Apply(HttpsConnectionAdapterOptions https, ILogger log)
    {
        https.ServerCertificate = Certificate;
        https.ServerCertificateChain = Chain;
        if (ClientCa is not { } ca)
        {
            return;
        }
        https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
        https.ClientCertificateValidation = (certificate, chain, _) =>
        {
            // The system's roots are no part of this decision: only the run's own CA vouches for workers.
            var problem = TlsFiles.TrustProblem(certificate, chain, ca, TlsFiles.ClientAuthentication);
            if (problem is not null)
            {
                log.LogWarning("Refused a TLS client certificate ({Subject}): {Problem}; only certificates signed by --client-ca are admitted",
                    certificate.Subject, problem);
            }
            return problem is null;
        };
    }
}

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Distributed.Protocol;

/// <summary>
/// PEM certificates and keys for TLS between coordinator and workers, and trust in a private CA
/// (a certificate authority the run's owner made, which no machine trusts by default).
/// </summary>
public static class TlsFiles
{
    public static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");

    public static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    /// <summary>
    /// The first certificate of <paramref name="certificateFile"/> with its private key from
    /// <paramref name="keyFile"/>, and the file's other certificates (intermediate CAs) as its chain.
    /// </summary>
    public static (X509Certificate2 Certificate, X509Certificate2Collection Chain) LoadCertificate(string certificateFile, string keyFile,
        string certificateOption, string keyOption)
    {
        var all = LoadCertificates(certificateFile, certificateOption);
        if (!File.Exists(keyFile))
        {
            throw new FileNotFoundException($"{keyOption} {keyFile}: no such file; pass the PEM private key of {certificateFile}.");
        }
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
            // Re-imported as PKCS#12: SslStream on Windows cannot use the ephemeral key a PEM import makes.
            var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            return (certificate, new X509Certificate2Collection(all.Skip(1).ToArray()));
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            // Unreadable, or a key of another certificate (ArgumentException): either way the wrong file.
            throw new InvalidDataException($"{keyOption} {keyFile} is not the PEM private key of {certificateOption} {certificateFile}; pass the key that belongs to the certificate.");
        }
    }

    /// <summary>Every certificate in a PEM file (e.g. a CA file).</summary>
    public static X509Certificate2Collection LoadCertificates(string file, string option)
    {
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"{option} {file}: no such file; pass a PEM certificate file.");
        }
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(file);
        }
        catch (CryptographicException e)
        {
            throw new InvalidDataException($"{option} {file} is not a readable PEM certificate file ({e.Message}).");
        }
        if (certificates.Count == 0)
        {
            throw new InvalidDataException($"{option} {file} holds no certificate (a PEM block -----BEGIN CERTIFICATE-----).");
        }
        return certificates;
    }

    /// <summary>
    /// Why <paramref name="certificate"/> does not chain up to one of <paramref name="roots"/> for
    /// <paramref name="purpose"/>, or null when it does. <paramref name="handshake"/> is the chain the
    /// TLS handshake built: it holds the intermediate certificates the peer sent.
    /// </summary>
    public static string? TrustProblem(X509Certificate2 certificate, X509Chain? handshake, X509Certificate2Collection roots, Oid purpose)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        // A private CA seldom publishes revocation lists: the CA file is the whole trust decision.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(purpose);
        if (handshake is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(handshake.ChainPolicy.ExtraStore);
        }
        return chain.Build(certificate) ? null : string.Join(", ", chain.ChainStatus.Select(s => s.Status).Distinct());
    }
}

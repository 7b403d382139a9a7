using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Distributed.Tests.Cluster;

/// <summary>A private CA and certificates it signs, written as PEM files to a folder, as a run's owner would make them with openssl.</summary>
internal sealed class TestCertificates
{
    private readonly string _folder;
    private readonly X509Certificate2 _ca;

    public TestCertificates(string folder, string caName = "Test run CA")
    {
        _folder = Directory.CreateDirectory(folder).FullName;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={caName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        _ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        CaFile = Path.Combine(_folder, "ca.pem");
        File.WriteAllText(CaFile, _ca.ExportCertificatePem());
    }

    public string CaFile { get; }

    /// <summary>A server certificate for these DNS names, signed by the CA: (certificate file, key file).</summary>
    public (string Certificate, string Key) Server(string name, params string[] dnsNames)
    {
        var names = new SubjectAlternativeNameBuilder();
        foreach (var dnsName in dnsNames)
        {
            names.AddDnsName(dnsName);
        }
        return Issue(name, TlsPurpose.Server, names.Build());
    }

    /// <summary>A client certificate signed by the CA: (certificate file, key file).</summary>
    public (string Certificate, string Key) Client(string name) => Issue(name, TlsPurpose.Client, null);

    private (string Certificate, string Key) Issue(string name, TlsPurpose purpose, X509Extension? names)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [purpose == TlsPurpose.Server ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, true, false));
        if (names is not null)
        {
            request.CertificateExtensions.Add(names);
        }
        using var certificate = request.Create(_ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(8));
        var (certificateFile, keyFile) = (Path.Combine(_folder, $"{name}.pem"), Path.Combine(_folder, $"{name}.key"));
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certificateFile, keyFile);
    }

    private enum TlsPurpose { Server, Client }
}

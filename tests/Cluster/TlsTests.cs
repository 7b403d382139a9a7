namespace Distributed.Tests.Cluster;

/// <summary>
/// serve --tls-cert/--tls-key with a CA the run's owner made: workers that trust it (--ca) train over
/// https, the others are told in one line what to pass; with --client-ca only workers holding a
/// certificate that CA signed get in.
/// </summary>
public sealed class TlsTests : IDisposable
{
    private readonly ClusterRun _run = new();

    public void Dispose() => _run.Dispose();

    private async Task<(ClusterProcess Coordinator, int Port)> Serve(string certificate, string key, params string[] extra)
    {
        var port = ClusterProcess.FreePort();
        var coordinator = ClusterProcess.Coordinator(_run.Token,
            ["serve", "--port", port.ToString(), "--workers", "1", "--timeout", "5", "--tls-cert", certificate, "--tls-key", key, .. extra,
                .. _run.RunArguments("run", "max_steps=6")]);
        await coordinator.WaitFor("Coordinator listening on https://", TimeSpan.FromSeconds(30));
        return (coordinator, port);
    }

    [Fact]
    public async Task A_worker_trusting_the_CA_trains_over_https_and_the_others_are_told_what_to_pass()
    {
        var certificates = new TestCertificates(_run.Folder("tls"));
        var (certificate, key) = certificates.Server("coordinator", "localhost");
        var (coordinator, port) = await Serve(certificate, key);
        using var _ = coordinator;
        var address = $"https://localhost:{port}";

        using var untrusting = ClusterProcess.Worker(_run.Token, address, 0, "untrusting", "--timeout", "5");
        Assert.Equal(2, await untrusting.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Matches($@"(?m)^worker: could not connect to {address}: the coordinator's certificate \(CN=coordinator\) is not trusted by this machine .*; pass --ca FILE\.pem with the CA that signed it\r?$",
            untrusting.Output);

        using var wrongName = ClusterProcess.Worker(_run.Token, $"https://127.0.0.1:{port}", 0, "wrong-name", "--timeout", "5", "--ca", certificates.CaFile);
        Assert.Equal(2, await wrongName.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains("is not issued for 127.0.0.1; connect by a name or address the certificate lists", wrongName.Output);

        using var worker = ClusterProcess.Worker(_run.Token, address, 0, "trusting", "--ca", certificates.CaFile);
        Assert.Equal(0, await coordinator.WaitForExit(TimeSpan.FromSeconds(120)));
        Assert.Contains("Worker trusting", coordinator.Output);
        Assert.Equal(0, await worker.WaitForExit(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task With_client_ca_only_a_worker_with_a_certificate_the_CA_signed_joins()
    {
        var certificates = new TestCertificates(_run.Folder("tls"));
        var strangers = new TestCertificates(_run.Folder("other-ca"), "Someone else's CA");
        var (certificate, key) = certificates.Server("coordinator", "localhost");
        var (coordinator, port) = await Serve(certificate, key, "--client-ca", certificates.CaFile);
        using var _ = coordinator;
        var address = $"https://localhost:{port}";

        using var anonymous = ClusterProcess.Worker(_run.Token, address, 0, "anonymous", "--timeout", "5", "--ca", certificates.CaFile);
        Assert.Equal(2, await anonymous.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains("it requires a client certificate; pass --tls-cert FILE.pem --tls-key FILE.pem signed by its --client-ca", anonymous.Output);

        var (strangerCertificate, strangerKey) = strangers.Client("stranger");
        using var stranger = ClusterProcess.Worker(_run.Token, address, 0, "stranger", "--timeout", "5", "--ca", certificates.CaFile,
            "--tls-cert", strangerCertificate, "--tls-key", strangerKey);
        Assert.Equal(2, await stranger.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains("the coordinator refused this worker's client certificate", stranger.Output);
        await coordinator.WaitFor(@"Refused a TLS client certificate \(CN=stranger\)", TimeSpan.FromSeconds(5));

        var (clientCertificate, clientKey) = certificates.Client("member");
        using var member = ClusterProcess.Worker(_run.Token, address, 0, "member", "--ca", certificates.CaFile,
            "--tls-cert", clientCertificate, "--tls-key", clientKey);
        Assert.Equal(0, await coordinator.WaitForExit(TimeSpan.FromSeconds(120)));
        Assert.Contains("Worker member", coordinator.Output);
        Assert.DoesNotContain("Worker anonymous", coordinator.Output);
        Assert.DoesNotContain("Worker stranger", coordinator.Output);
    }
}

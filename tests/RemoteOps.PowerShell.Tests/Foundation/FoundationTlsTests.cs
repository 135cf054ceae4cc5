using System.Collections;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>The config's tls: section against a nats-server that requires TLS with client certificates (mutual TLS),
/// with a CA and certificates made by the test.</summary>
public class FoundationTlsTests
{
    private sealed class Pki : IDisposable
    {
        public TempDir Dir { get; } = new();
        public string Ca => Dir.File("ca.pem");
        public string ServerCert => Dir.File("server.pem");
        public string ServerKey => Dir.File("server-key.pem");
        public string ClientCert => Dir.File("client.pem");
        public string ClientKey => Dir.File("client-key.pem");
        public string OtherCa => Dir.File("other-ca.pem");

        public Pki()
        {
            using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var ca = MakeCa("RemoteOps test CA", caKey);
            File.WriteAllText(Ca, ca.ExportCertificatePem());
            Issue(ca, caKey, "127.0.0.1", server: true, ServerCert, ServerKey);
            Issue(ca, caKey, "remoteops-client", server: false, ClientCert, ClientKey);
            using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var other = MakeCa("Some other CA", otherKey);
            File.WriteAllText(OtherCa, other.ExportCertificatePem());
        }

        private static X509Certificate2 MakeCa(string name, ECDsa key)
        {
            var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
        }

        private static void Issue(X509Certificate2 ca, ECDsa caKey, string name, bool server, string certFile, string keyFile)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                [server ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
            if (server)
            {
                var san = new SubjectAlternativeNameBuilder();
                san.AddIpAddress(IPAddress.Loopback);
                san.AddDnsName("localhost");
                request.CertificateExtensions.Add(san.Build());
            }
            var serial = RandomNumberGenerator.GetBytes(8);
            using var cert = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), serial);
            File.WriteAllText(certFile, cert.ExportCertificatePem());
            File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        }

        public void Dispose() => Dir.Dispose();
    }

    private static string Quote(string path) => "\"" + path.Replace("\\", "/") + "\"";

    [Fact]
    public async Task A_config_with_tls_ca_cert_and_key_connects_to_a_server_requiring_client_certificates_and_signals_flow()
    {
        using var pki = new Pki();
        await using var server = await NatsServer.StartAsync(
            $"tls {{ cert_file: {Quote(pki.ServerCert)}, key_file: {Quote(pki.ServerKey)}, ca_file: {Quote(pki.Ca)}, verify: true, timeout: 5 }}",
            jetStream: false);
        var url = $"tls://127.0.0.1:{server.Port}";
        var good = pki.Dir.File("good.yaml");
        File.WriteAllText(good, $"servers: [{url}]\ntls:\n  ca: {pki.Ca}\n  cert: {pki.ClientCert}\n  key: {pki.ClientKey}\n");
        var noClientCert = pki.Dir.File("no-client-cert.yaml");
        File.WriteAllText(noClientCert, $"servers: [{url}]\ntls:\n  ca: {pki.Ca}\n");
        var wrongCa = pki.Dir.File("wrong-ca.yaml");
        File.WriteAllText(wrongCa, $"servers: [{url}]\ntls:\n  ca: {pki.OtherCa}\n  cert: {pki.ClientCert}\n  key: {pki.ClientKey}\n");
        using var pwsh = new Pwsh();

        var r = pwsh.Run("param($p) (Get-RemoteOpsConfig -ConfigPath $p -TestConnection).Connection", new Hashtable { ["p"] = good });
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.True((bool)Assert.Single(r.Output).Properties["Connected"].Value);

        // The server refuses a client without a certificate; the client refuses a server its CA did not sign.
        foreach (var config in new[] { noClientCert, wrongCa })
        {
            var refused = pwsh.Run("param($p) (Get-RemoteOpsConfig -ConfigPath $p -TestConnection).Connection", new Hashtable { ["p"] = config });
            var connected = refused.Output.Count == 1 && (bool)refused.Output[0].Properties["Connected"].Value;
            Assert.False(connected, $"{Path.GetFileName(config)} connected");
        }
        Assert.False(pwsh.Run("param($p) Disconnect-RemoteOps -ConfigPath $p", new Hashtable { ["p"] = good }).HadErrors);
    }
}

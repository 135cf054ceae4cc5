using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Remaphore;

namespace RemoteOps.Core.Tests.Remaphore;

public class RemaphoreConfigConverterPropertyTests
{
    private const string Source = "/etc/remaphore/remaphore.conf";
    private static readonly SigningKey A = SigningKey.Generate();
    private static readonly SigningKey B = SigningKey.Generate();

    private static readonly string Valid = $"""
        # remaphore config
        server: nats://nats1:4222
        server: nats2:4222
        credentials: /etc/remaphore/remaphore.creds
        subject: remaphore
        destination: com.crypto.us.left
        allow_skew: 5s
        default_identity: {A.PublicBase58}

        [ Identities ]
        {A.PublicBase58} {A.ExportGoPrivateBase58()} [ping, upload]

        [ Peers ]
        com.crypto.us.right {B.PublicBase58} [*]
        """;

    /// <summary>Converts, and the YAML it writes loads; or the converter refuses the file with a ConfigException naming
    /// a line of it. Anything else (another exception, or YAML that does not load) fails the test.</summary>
    private static void ConvertsOrIsLocated(string text)
    {
        RemaphoreConfigConverter.Result result;
        try { result = RemaphoreConfigConverter.Convert(text, Source); }
        catch (ConfigException e)
        {
            Assert.Equal(Source, e.File);
            Assert.InRange(e.Line, 0, text.Count(c => c == '\n') + 1);
            return;
        }
        try { ConfigLoader.ParseCore(result.Yaml, "/cfg/converted.yaml", null); }
        catch (ConfigException e) { Assert.Fail($"{FuzzText.Show(text)} converted to YAML that does not load: {e.Message}\n{result.Yaml}"); }
    }

    [Fact]
    public void The_valid_text_the_mutations_start_from_converts_and_loads()
    {
        var result = RemaphoreConfigConverter.Convert(Valid, Source);
        var c = ConfigLoader.ParseCore(result.Yaml, "/cfg/converted.yaml", null);
        Assert.Equal(2, c.Servers.Count);
        Assert.Single(c.Identities);
    }

    [Property(MaxTest = 500)]
    public Property Random_text_converts_or_gives_a_ConfigException() =>
        Prop.ForAll(FuzzText.Text(200).ToArbitrary(), ConvertsOrIsLocated);

    [Property(MaxTest = 1000)]
    public Property Mutated_config_converts_or_gives_a_ConfigException() =>
        Prop.ForAll(FuzzText.Mutations(Valid, 6).ToArbitrary(), ConvertsOrIsLocated);
}

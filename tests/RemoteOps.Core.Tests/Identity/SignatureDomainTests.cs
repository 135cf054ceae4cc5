using System.Text;
using RemoteOps.Identity;
using RemoteOps.Remaphore;
using RemoteOps.Seaport;

namespace RemoteOps.Core.Tests.Identity;

public class SignatureDomainTests
{
    [Fact]
    public void A_signature_made_for_one_domain_never_verifies_for_another_or_for_none()
    {
        using var key = SigningKey.Generate();
        var data = Encoding.UTF8.GetBytes("s.abc\n{\"id\":\"abc\"}");
        var signature = key.Sign(SeaportEntryCodec.Domain, data);
        var publicKey = VerificationKey.Import(key.PublicBase58)!;
        Assert.True(VerificationKey.Verify(publicKey, SeaportEntryCodec.Domain, data, signature));
        Assert.False(VerificationKey.Verify(publicKey, RemaphoreLatchStore.Domain, data, signature));
        Assert.False(VerificationKey.Verify(publicKey, new SignatureDomain("steward-command"), data, signature));
        Assert.False(VerificationKey.Verify(publicKey, data, signature));
        // And the other way: a plain signature (remaphore's wire) is not a domain signature.
        Assert.False(VerificationKey.Verify(publicKey, SeaportEntryCodec.Domain, data, key.Sign(data)));
    }

    [Fact]
    public void The_signed_bytes_are_the_domain_name_a_newline_then_the_data_as_the_stored_formats_have_them()
    {
        // Seaport entries and latches written by earlier versions signed exactly these bytes: they must still verify.
        using var key = SigningKey.Generate();
        var data = Encoding.UTF8.GetBytes("payload");
        var legacy = key.Sign(Encoding.UTF8.GetBytes("seaport-entry\npayload"));
        Assert.True(VerificationKey.Verify(VerificationKey.Import(key.PublicBase58)!, SeaportEntryCodec.Domain, data, legacy));
        Assert.Equal(Encoding.UTF8.GetBytes("remaphore-latch\npayload"), RemaphoreLatchStore.Domain.Frame(data));
    }

    [Theory]
    [InlineData("")]
    [InlineData("two\nlines")]
    [InlineData("bell\a")]
    public void A_domain_is_a_non_empty_name_on_one_line(string name) =>
        Assert.Throws<ArgumentException>(() => new SignatureDomain(name));

    [Fact]
    public void Verification_keys_from_text_that_is_not_a_key_are_null_not_exceptions()
    {
        Assert.Null(VerificationKey.Import("é"));
        Assert.Null(VerificationKey.Import("0OIl"));
        Assert.Null(VerificationKey.Import(""));
        Assert.False(VerificationKey.Verify("é", SeaportEntryCodec.Domain, [1], new byte[64]));
    }
}

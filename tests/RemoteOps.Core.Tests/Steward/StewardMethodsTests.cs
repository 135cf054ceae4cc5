using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

public class StewardMethodsTests
{
    [Theory]
    [InlineData("Ping", StewardMethod.Ping)]
    [InlineData("REQPing", StewardMethod.Ping)]
    [InlineData("reqping", StewardMethod.Ping)]
    [InlineData("REQnCliCommandCont", StewardMethod.CliCommandCont)]
    [InlineData("REQnCliCommand", StewardMethod.CliCommand)]
    [InlineData("ReqCliCommand", StewardMethod.CliCommand)]
    [InlineData("clicommandcont", StewardMethod.CliCommandCont)]
    [InlineData("REQOpProcessStop", StewardMethod.OpProcessStop)]
    [InlineData("REQToFileAppend", StewardMethod.ToFileAppend)]
    [InlineData("REQErrorLog", StewardMethod.ErrorLog)]
    [InlineData("REQHello", StewardMethod.Hello)]
    public void Names_parse(string text, StewardMethod expected)
    {
        Assert.True(StewardMethods.TryParse(text, out var m));
        Assert.Equal(expected, m);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("REQ")]
    [InlineData("REQn")]
    [InlineData("REQOpCommand")]
    [InlineData("Launch")]
    [InlineData("REQREQPing")]
    [InlineData("Ping2")]
    public void Other_names_do_not(string? text) => Assert.False(StewardMethods.TryParse(text, out _));

    [Fact]
    public void Every_method_is_in_the_catalogue_and_parses_from_its_name()
    {
        Assert.Equal(17, StewardMethods.All.Count);
        foreach (var m in StewardMethods.All)
        {
            Assert.True(StewardMethods.TryParse("REQ" + m, out var parsed));
            Assert.Equal(m, parsed);
        }
    }
}

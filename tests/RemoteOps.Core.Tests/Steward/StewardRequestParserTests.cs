using RemoteOps.Messaging;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

public class StewardRequestParserTests
{
    private static string Seed(int n) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Steward", "Seed", $"seed{n:00}.json"));

    [Fact]
    public void Every_json_example_of_the_seed_parses()
    {
        var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Steward", "Seed"), "seed*.json");
        Assert.Equal(22, files.Length);
        foreach (var file in files) Assert.NotEmpty(StewardRequestParser.Parse(File.ReadAllText(file)));
    }

    [Fact]
    public void The_first_example_parses_to_every_field()
    {
        var r = Assert.Single(StewardRequestParser.Parse(Seed(0)));
        var expected = new StewardRequest
        {
            Directory = "/var/cli/command_result/", FileName = "some-file-name.result", ToNode = "ship1",
            MethodArgs = ["bash", "-c", "sleep 5 & tree ./"], Method = StewardMethod.CliCommand, ReplyMethod = StewardMethod.ToFileAppend,
            AckTimeout = TimeSpan.FromSeconds(5), Retries = 3, ReplyAckTimeout = TimeSpan.FromSeconds(5), ReplyRetries = 3,
            MethodTimeout = TimeSpan.FromSeconds(10),
        };
        Assert.True(expected.SameAs(r), r.ToString());
        Assert.Equal(["ship1"], r.Targets);
    }

    [Fact]
    public void The_seeds_spellings_parse()
    {
        var all = Enumerable.Range(0, 22).SelectMany(n => StewardRequestParser.Parse(Seed(n))).ToList();
        // REQnCliCommandCont, toNodes, replyMethodTimeOut with {{STEWARD_DATA}}, REQOpCommand's three operations.
        Assert.Contains(all, r => r.Method == StewardMethod.CliCommandCont && r.MethodTimeout == TimeSpan.FromSeconds(60));
        var http = Assert.Single(all, r => r.ToNodes.Count == 2);
        Assert.Equal(["central", "ship2"], http.Targets);
        Assert.Equal(StewardMethod.ToFile, http.ReplyMethod);
        var chained = all.Where(r => r.ReplyMethod == StewardMethod.CliCommand).ToList();
        Assert.Equal(2, chained.Count);
        Assert.All(chained, r => Assert.Equal(TimeSpan.FromSeconds(10), r.ReplyMethodTimeout));
        Assert.Contains(chained, r => r.ReplyMethodArgs[2] == "echo \"{{STEWARD_DATA}}\" > apekatt.txt");
        var ops = all.Where(r => r.Operation is not null).ToList();
        Assert.Equal(3, ops.Count);
        Assert.Contains(ops, r => r.Method == StewardMethod.OpProcessList && r.Operation!.OpCmd == "ps");
        var stop = Assert.Single(ops, r => r.Method == StewardMethod.OpProcessStop);
        Assert.Equal(("HttpGet", "subscriber", "ship2"), (stop.Operation!.Method, stop.Operation.Kind, stop.Operation.ReceivingNode));
        Assert.Equal(["HttpGet", "ship2", "subscriber"], stop.MethodArgs);
        var start = Assert.Single(ops, r => r.Method == StewardMethod.OpProcessStart);
        Assert.Equal(["HttpGet", "central", "node1"], start.MethodArgs);
        Assert.Contains(all, r => r.Method == StewardMethod.Hello && r.ToNode == "central");
    }

    [Fact]
    public void A_single_object_and_duration_strings()
    {
        var r = Assert.Single(StewardRequestParser.Parse("""{"toNode":"a","method":"ping","ACKTimeout":"1m30s","replyMethodTimeout":"250ms"}"""));
        Assert.Equal(TimeSpan.FromSeconds(90), r.AckTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(250), r.ReplyMethodTimeout);
        Assert.Null(r.MethodTimeout);
    }

    [Theory]
    [InlineData("", "not valid JSON")]
    [InlineData("[{", "not valid JSON")]
    [InlineData("42", "not a number")]
    [InlineData("[42]", "Message 0: expected a JSON object")]
    [InlineData("""[{"toNode":"a","method":"Ping"},{"toNode":"a"}]""", "Message 1, field 'method': is missing")]
    [InlineData("""{"method":"Ping"}""", "field 'toNode': is missing")]
    [InlineData("""{"toNode":"a","method":"Launch"}""", "field 'method': 'Launch' is not a steward method")]
    [InlineData("""{"toNode":"a","method":"Ping","colour":1}""", "field 'colour': is not a field")]
    [InlineData("""{"toNode":"a","method":"Ping","METHOD":"Ping"}""", "field 'METHOD': is given twice")]
    [InlineData("""{"toNode":"a","method":"Ping","replyMethodTimeout":1,"replyMethodTimeOut":1}""", "field 'replyMethodTimeOut': is given twice")]
    [InlineData("""{"toNode":1,"method":"Ping"}""", "field 'toNode': must be a string, not a number")]
    [InlineData("""{"toNode":"a b","method":"Ping"}""", "field 'toNode': 'a b' is not a node name")]
    [InlineData("""{"toNodes":"a","method":"Ping"}""", "field 'toNodes': must be an array")]
    [InlineData("""{"toNode":"a","method":"Ping","methodArgs":[1]}""", "field 'methodArgs[0]': must be a string")]
    [InlineData("""{"toNode":"a","method":"Ping","ACKTimeout":-1}""", "field 'ACKTimeout': must be whole seconds")]
    [InlineData("""{"toNode":"a","method":"Ping","ACKTimeout":1.5}""", "field 'ACKTimeout': must be whole seconds")]
    [InlineData("""{"toNode":"a","method":"Ping","ACKTimeout":99999999}""", "field 'ACKTimeout': must be whole seconds")]
    [InlineData("""{"toNode":"a","method":"Ping","ACKTimeout":"soon"}""", "field 'ACKTimeout': 'soon' is not a duration")]
    [InlineData("""{"toNode":"a","method":"Ping","ACKTimeout":"2d"}""", "field 'ACKTimeout': must be from 0")]
    [InlineData("""{"toNode":"a","method":"Ping","ACKTimeout":true}""", "field 'ACKTimeout': must be integer seconds or a duration string, not a boolean")]
    [InlineData("""{"toNode":"a","method":"Ping","retries":101}""", "field 'retries': must be a whole number from 0 to 100")]
    [InlineData("""{"toNode":"a","method":"Ping","replyMethod":"HttpGet"}""", "field 'replyMethod': 'HttpGet' is not a reply method")]
    [InlineData("""{"toNode":"a","method":"REQOpCommand"}""", "field 'operation': is missing")]
    [InlineData("""{"toNode":"a","method":"REQOpCommand","operation":{"opCmd":"reboot"}}""", "field 'operation.opCmd': 'reboot' is not an operation")]
    [InlineData("""{"toNode":"a","method":"REQOpCommand","operation":{}}""", "field 'operation.opCmd': is missing")]
    [InlineData("""{"toNode":"a","method":"REQOpCommand","operation":{"opCmd":"stopProc"}}""", "field 'operation.opArg.method': is missing")]
    [InlineData("""{"toNode":"a","method":"REQOpCommand","operation":{"opCmd":"ps","x":1}}""", "field 'operation.x': is not a field of operation")]
    [InlineData("""{"toNode":"a","method":"REQOpCommand","operation":{"opCmd":"startProc","opArg":{"method":"Launch"}}}""", "field 'operation.opArg.method': 'Launch'")]
    [InlineData("""{"toNode":"a","method":"REQOpCommand","operation":{"opCmd":"startProc","opArg":[]}}""", "field 'operation.opArg': must be an object")]
    [InlineData("""{"toNode":"a","method":"Ping","directory":"\ud800"}""", "Message 0: a string is not valid text")]
    [InlineData("""[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]""", "not valid JSON")]
    public void Bad_input_is_one_clear_error_naming_the_message_and_field(string json, string expected)
    {
        var e = Assert.Throws<StewardArgumentException>(() => StewardRequestParser.Parse(json));
        Assert.IsAssignableFrom<RemoteOpsArgumentException>(e);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_huge_array_is_refused()
    {
        var json = "[" + string.Join(",", Enumerable.Repeat("{}", StewardRequestParser.MaxMessages + 1)) + "]";
        var e = Assert.Throws<StewardArgumentException>(() => StewardRequestParser.Parse(json));
        Assert.Contains("10001 messages", e.Message);
    }
}

using System.Text;
using RemoteOps.Messaging;

namespace RemoteOps.Core.Tests.Messaging;

/// <summary>The dev server markers (Get-RemoteOpsDevServer) are files anyone with the user's rights can write: whatever
/// is in them, listing never throws, never lists a process that is not a running nats-server, and removes what is stale.
/// Uses REMOTEOPS_STATE_DIR, so it is kept out of parallel runs with anything else that reads it.</summary>
[Collection("DevServerMarkers")]
public class DevServerMarkerTests
{
    [Fact]
    public void Garbage_and_stale_markers_are_dropped_without_an_exception()
    {
        var root = Directory.CreateTempSubdirectory("remoteops-state-").FullName;
        var before = Environment.GetEnvironmentVariable("REMOTEOPS_STATE_DIR");
        Environment.SetEnvironmentVariable("REMOTEOPS_STATE_DIR", root);
        try
        {
            var dir = DevServer.MarkerDirectory;
            Assert.StartsWith(root, dir);
            Directory.CreateDirectory(dir);
            var random = new Random(11); // fixed seed: a failure reproduces
            var self = Environment.ProcessId;
            var written = new List<string>();
            for (int i = 0; i < 40; i++)
            {
                // This process (alive, not a nats-server) or a pid that is surely free.
                var pid = i % 2 == 0 ? self : 5_000_000 + i;
                var path = Path.Combine(dir, pid + ".json");
                string text = (i % 4) switch
                {
                    0 => Encoding.Latin1.GetString(Enumerable.Range(0, random.Next(0, 300)).Select(_ => (byte)random.Next(256)).ToArray()),
                    1 => $$"""{"Url":"x","Port":{{random.Next()}},"ProcessId":{{pid}},"DataDirectory":"{{Path.Combine(root, "remoteops-devserver-" + i)}}","ConfigPath":"","LogPath":"","MonitorUrl":null,"TemporaryDataDirectory":true,"StartTime":"2020-01-01T00:00:00+00:00","ProcessStartTimeUtc":null}""",
                    2 => """{"ProcessId": "not a number"}""",
                    _ => "null",
                };
                File.WriteAllText(path, text);
                written.Add(path);
                var listed = DevServer.List();
                Assert.DoesNotContain(listed, s => s.ProcessId == pid);
            }
            // Every well-formed marker of a process that is no nats-server is gone.
            Assert.Empty(Directory.GetFiles(dir, "*.json").Where(f => File.ReadAllText(f).Contains("\"Url\":\"x\"")));
        }
        finally
        {
            Environment.SetEnvironmentVariable("REMOTEOPS_STATE_DIR", before);
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Stop_of_a_process_id_that_is_nothing_is_not_found()
    {
        await Assert.ThrowsAsync<DevServerNotFoundException>(() => DevServer.StopAsync(5_100_000));
    }
}

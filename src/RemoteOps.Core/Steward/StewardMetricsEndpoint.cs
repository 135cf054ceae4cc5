using System.Globalization;
using System.Net;
using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>steward.metrics: <c>host:port</c>, where host is a name, an IPv4 address, <c>[IPv6]</c>, or a wildcard
/// (<c>*</c>, <c>+</c>, <c>0.0.0.0</c>, <c>[::]</c>: every interface).</summary>
public readonly record struct StewardMetricsEndpoint(string Host, int Port)
{
    /// <summary>Every interface: HttpListener's strong wildcard.</summary>
    public bool IsWildcard => Host is "*" or "+" or "0.0.0.0" or "::";

    /// <summary>Only this machine can connect: localhost or a loopback address.</summary>
    public bool IsLoopback => string.Equals(Host, "localhost", StringComparison.OrdinalIgnoreCase)
        || IPAddress.TryParse(Host, out var ip) && IPAddress.IsLoopback(ip);

    /// <summary>The host as an HttpListener prefix wants it.</summary>
    public string ListenerHost => IsWildcard ? "+" : Host.Contains(':') ? $"[{Host}]" : Host;

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    /// <summary>Never throws: the endpoint, or false with the problem.</summary>
    public static bool TryParse(string? text, out StewardMetricsEndpoint endpoint, out string problem)
    {
        endpoint = default;
        text = text?.Trim();
        if (string.IsNullOrEmpty(text)) { problem = "expected host:port, e.g. 127.0.0.1:9464."; return false; }
        if (text.Length > 300) { problem = "expected host:port; this is far too long for one."; return false; }
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1) { problem = $"'{UntrustedText.Clean(text)}' is not host:port (e.g. 127.0.0.1:9464, [::1]:9464)."; return false; }
        var host = text[..colon];
        var portText = text[(colon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        { problem = $"the port '{UntrustedText.Clean(portText)}' is not a number from 1 to 65535."; return false; }
        if (host.StartsWith('['))
        {
            if (!host.EndsWith(']') || !IPAddress.TryParse(host[1..^1], out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            { problem = $"'{UntrustedText.Clean(host)}' is not a bracketed IPv6 address."; return false; }
            host = v6.ToString();
        }
        else if (host.Contains(':')) { problem = $"an IPv6 address goes in brackets: [{UntrustedText.Clean(host)}]:{port}."; return false; }
        else if (host is not ("*" or "+") && Uri.CheckHostName(host) is not (UriHostNameType.Dns or UriHostNameType.IPv4))
        { problem = $"'{UntrustedText.Clean(host)}' is not a host name or address."; return false; }
        endpoint = new StewardMetricsEndpoint(host, port);
        problem = "";
        return true;
    }
}

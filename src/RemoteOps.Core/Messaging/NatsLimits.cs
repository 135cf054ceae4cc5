using System.Text;
using NATS.Client.Core;

namespace RemoteOps.Messaging;

/// <summary>What one NATS protocol line and one NATS message can carry. A subject or message beyond these is not
/// refused by the client: the server answers a too-long control line by closing the connection (which every cmdlet of
/// the session shares), and a too-large message is lost. Each tool checks its subjects and messages here, before
/// anything is sent, and turns a problem into its own argument error.</summary>
public static class NatsLimits
{
    /// <summary>nats-server's default max_control_line: the longest protocol line (PUB, HPUB, SUB with the subject, a
    /// reply subject, a queue group, the sid and sizes) it accepts. The server does not announce it in INFO, so the
    /// default is assumed.</summary>
    public const int MaxControlLine = 4096;

    /// <summary>Room on a control line for everything but the subject: the command, a reply subject or queue group
    /// (client inboxes are about 50 bytes), the sid and the sizes.</summary>
    public const int ControlLineReserve = 256;

    /// <summary>The longest subject, in UTF-8 bytes, that fits a control line with room for the rest of it.</summary>
    public const int MaxSubjectBytes = MaxControlLine - ControlLineReserve;

    /// <summary>NATS's default max_payload, used when the server has not said (not yet connected).</summary>
    public const int DefaultMaxPayload = 1024 * 1024;

    /// <summary>Null when <paramref name="subject"/> fits a control line; else why not, as a sentence fragment.</summary>
    public static string? SubjectProblem(string subject)
    {
        int bytes = Encoding.UTF8.GetByteCount(subject);
        return bytes <= MaxSubjectBytes
            ? null
            : $"the NATS subject would be {bytes} bytes; NATS carries at most {MaxSubjectBytes} (nats-server's {MaxControlLine}-byte control line, less room for the rest of the line)";
    }

    /// <summary>The largest message (payload and headers, in bytes) the server of <paramref name="connection"/> takes:
    /// its max_payload from INFO.</summary>
    public static long MaxPayload(NatsConnection connection) =>
        connection.ServerInfo?.MaxPayload is > 0 and var max ? max : DefaultMaxPayload;

    /// <summary>Null when a message of <paramref name="bytes"/> bytes fits the server's max_payload (leaving
    /// <paramref name="reserve"/> bytes for headers the client adds); else why not.</summary>
    public static string? PayloadProblem(NatsConnection connection, long bytes, int reserve = 0)
    {
        long max = MaxPayload(connection) - reserve;
        return bytes <= max ? null : $"the NATS message would be {bytes} bytes; the server takes at most {max} (its max_payload)";
    }
}

namespace RemoteOps.Steward;

/// <summary>An error report waiting to reach central: the ErrorLog message id it is sent under (the same at every
/// attempt, so central takes it once however often it is sent) and the report as JSON.</summary>
public sealed record PendingErrorReport(long Sequence, string MessageId, string Report, DateTimeOffset Created);

public sealed partial class StewardLocalStore
{
    /// <summary>Keeps an error report until it is sent; returns false when the id is here already.</summary>
    public bool AddPendingError(string messageId, string report, DateTimeOffset created)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "INSERT OR IGNORE INTO error_outbox (id, report, created) VALUES ($id, $report, $created);";
            cmd.Parameters.AddWithValue("$id", messageId);
            cmd.Parameters.AddWithValue("$report", report);
            cmd.Parameters.AddWithValue("$created", created.ToUnixTimeMilliseconds());
            return cmd.ExecuteNonQuery() == 1;
        }
    }

    /// <summary>The error reports not sent yet, oldest first (at most <paramref name="limit"/>).</summary>
    public IReadOnlyList<PendingErrorReport> PendingErrors(int limit = 1000)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT seq, id, report, created FROM error_outbox ORDER BY seq LIMIT $limit;";
            cmd.Parameters.AddWithValue("$limit", limit);
            using var r = cmd.ExecuteReader();
            var list = new List<PendingErrorReport>();
            while (r.Read()) list.Add(new PendingErrorReport(r.GetInt64(0), r.GetString(1), r.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3))));
            return list;
        }
    }

    /// <summary>How many error reports wait to be sent.</summary>
    public int PendingErrorCount()
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT count(*) FROM error_outbox;";
            return Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>The report reached the stream: it is JetStream's (and central's) now.</summary>
    public void RemovePendingError(string messageId)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "DELETE FROM error_outbox WHERE id = $id;";
            cmd.Parameters.AddWithValue("$id", messageId);
            cmd.ExecuteNonQuery();
        }
    }
}

using Microsoft.Data.Sqlite;

namespace RemoteOps.Steward;

/// <summary>Where a message is in the agent's own store: Accepted (recorded, nothing started), Started (its method
/// was started: a detached command may still be running), Done (its final record is kept, to be sent again for a
/// redelivered or re-sent id).</summary>
public enum LocalState { Accepted, Started, Done }

/// <summary>One row of the agent's local store.</summary>
public sealed record LocalMessage(string MessageId, LocalState State, byte[] Command, DateTimeOffset Received,
    string BootId, int? Pid, long? PidStart, DateTimeOffset? Started, byte[]? Final);

/// <summary>The node agent's durable memory (SQLite, WAL, synchronous NORMAL: it survives the agent's kill -9, as JetStream's own default does, not a power cut): every accepted message id, recorded
/// before the JetStream ack, with its state and, once final, its signed result. What makes the effect exactly-once:
/// an id found here is never run again. Rows older than <see cref="KeepFor"/> are pruned.</summary>
public sealed partial class StewardLocalStore : IDisposable
{
    public static readonly TimeSpan KeepFor = TimeSpan.FromDays(7);
    private readonly SqliteConnection _db;
    private readonly Lock _lock = new();

    public string Directory { get; }

    private StewardLocalStore(string directory, SqliteConnection db)
    {
        Directory = directory;
        _db = db;
    }

    /// <summary>Opens (creating) <c>steward.db</c> in <paramref name="directory"/>.</summary>
    public static StewardLocalStore Open(string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var db = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(directory, "steward.db"),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        db.Open();
        Exec(db, "PRAGMA journal_mode=WAL;");
        // NORMAL in WAL mode: a commit survives the agent's kill -9 (it is in the OS's cache), not a power cut, which
        // is JetStream's own default (it syncs to disk every 2 minutes). FULL cost an fsync per write: 3.6 ms per Ping here.
        Exec(db, "PRAGMA synchronous=NORMAL;");
        Exec(db, "PRAGMA busy_timeout=5000;");
        Exec(db, """
            CREATE TABLE IF NOT EXISTS messages (
              id TEXT PRIMARY KEY,
              state INTEGER NOT NULL,
              command BLOB NOT NULL,
              received INTEGER NOT NULL,
              boot_id TEXT NOT NULL,
              pid INTEGER,
              pid_start INTEGER,
              started INTEGER,
              final BLOB,
              published INTEGER NOT NULL DEFAULT 0
            );
            CREATE TABLE IF NOT EXISTS replies (
              id TEXT PRIMARY KEY,
              at INTEGER NOT NULL
            );
            CREATE TABLE IF NOT EXISTS error_outbox (
              seq INTEGER PRIMARY KEY AUTOINCREMENT,
              id TEXT NOT NULL UNIQUE,
              report TEXT NOT NULL,
              created INTEGER NOT NULL
            );
            """);
        return new StewardLocalStore(directory, db);
    }

    private static void Exec(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Records a newly accepted message; false when its id is here already (a redelivery or a re-send).</summary>
    public bool TryAccept(string id, byte[] command, DateTimeOffset received, string bootId)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "INSERT OR IGNORE INTO messages (id, state, command, received, boot_id) VALUES ($id, $state, $command, $received, $boot);";
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$state", (int)LocalState.Accepted);
            cmd.Parameters.AddWithValue("$command", command);
            cmd.Parameters.AddWithValue("$received", received.ToUnixTimeMilliseconds());
            cmd.Parameters.AddWithValue("$boot", bootId);
            return cmd.ExecuteNonQuery() == 1;
        }
    }

    /// <summary>Marks the method started (before it is: a crash in between must not run it twice).</summary>
    public void MarkStarted(string id, DateTimeOffset started, string bootId)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "UPDATE messages SET state = $state, started = $started, boot_id = $boot WHERE id = $id;";
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$state", (int)LocalState.Started);
            cmd.Parameters.AddWithValue("$started", started.ToUnixTimeMilliseconds());
            cmd.Parameters.AddWithValue("$boot", bootId);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Records the pid (and its start time, against pid reuse) of a detached command.</summary>
    public void SetProcess(string id, int pid, long? pidStart)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "UPDATE messages SET pid = $pid, pid_start = $start WHERE id = $id;";
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$pid", pid);
            cmd.Parameters.AddWithValue("$start", (object?)pidStart ?? DBNull.Value);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Keeps the final signed record; the id is done for good.</summary>
    public void SetFinal(string id, byte[] finalRecord)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "UPDATE messages SET state = $state, final = $final WHERE id = $id;";
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$state", (int)LocalState.Done);
            cmd.Parameters.AddWithValue("$final", finalRecord);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>The final record is in the results bucket: nothing left to send after a restart.</summary>
    public void MarkPublished(string id)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "UPDATE messages SET published = 1 WHERE id = $id;";
            cmd.Parameters.AddWithValue("$id", id);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Finished messages whose final record may not have reached the results bucket (the agent died first).</summary>
    public IReadOnlyList<LocalMessage> Unpublished()
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT id, state, command, received, boot_id, pid, pid_start, started, final FROM messages WHERE state = $done AND published = 0 AND length(final) > 0 ORDER BY received;";
            cmd.Parameters.AddWithValue("$done", (int)LocalState.Done);
            using var r = cmd.ExecuteReader();
            var list = new List<LocalMessage>();
            while (r.Read()) list.Add(Row(r));
            return list;
        }
    }

    public LocalMessage? Get(string id)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT id, state, command, received, boot_id, pid, pid_start, started, final FROM messages WHERE id = $id;";
            cmd.Parameters.AddWithValue("$id", id);
            using var r = cmd.ExecuteReader();
            return r.Read() ? Row(r) : null;
        }
    }

    /// <summary>Every message not yet done: what a starting agent recovers.</summary>
    public IReadOnlyList<LocalMessage> Unfinished()
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT id, state, command, received, boot_id, pid, pid_start, started, final FROM messages WHERE state <> $done ORDER BY received;";
            cmd.Parameters.AddWithValue("$done", (int)LocalState.Done);
            using var r = cmd.ExecuteReader();
            var list = new List<LocalMessage>();
            while (r.Read()) list.Add(Row(r));
            return list;
        }
    }

    /// <summary>Claims the reply of message <paramref name="id"/> for this agent's reply method (-NoWait messages this
    /// node sent): true the first time only, so a reply method runs at most once however often it is announced.</summary>
    public bool TryClaimReply(string id, DateTimeOffset at)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "INSERT OR IGNORE INTO replies (id, at) VALUES ($id, $at);";
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
            return cmd.ExecuteNonQuery() == 1;
        }
    }

    /// <summary>Deletes finished rows received before <paramref name="before"/>; returns their ids.</summary>
    public IReadOnlyList<string> Prune(DateTimeOffset before)
    {
        lock (_lock)
        {
            var ids = new List<string>();
            using (var select = _db.CreateCommand())
            {
                select.CommandText = "SELECT id FROM messages WHERE state = $done AND received < $before;";
                select.Parameters.AddWithValue("$done", (int)LocalState.Done);
                select.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
                using var r = select.ExecuteReader();
                while (r.Read()) ids.Add(r.GetString(0));
            }
            using var delete = _db.CreateCommand();
            delete.CommandText = "DELETE FROM messages WHERE state = $done AND received < $before;";
            delete.Parameters.AddWithValue("$done", (int)LocalState.Done);
            delete.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
            delete.ExecuteNonQuery();
            using var replies = _db.CreateCommand();
            replies.CommandText = "DELETE FROM replies WHERE at < $before;";
            replies.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
            replies.ExecuteNonQuery();
            return ids;
        }
    }

    private static LocalMessage Row(SqliteDataReader r) => new(
        r.GetString(0), (LocalState)r.GetInt32(1), (byte[])r[2], DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3)), r.GetString(4),
        r.IsDBNull(5) ? null : r.GetInt32(5), r.IsDBNull(6) ? null : r.GetInt64(6),
        r.IsDBNull(7) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(7)), r.IsDBNull(8) ? null : (byte[])r[8]);

    public void Dispose()
    {
        lock (_lock) _db.Dispose();
    }
}

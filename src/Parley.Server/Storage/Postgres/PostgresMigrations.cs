using Npgsql;
using Parley.Server.Blobs;

namespace Parley.Server.Storage.Postgres;

/// <summary>Numbered schema migrations. Append new ones; never edit a released one. The table
/// <c>parley_migrations</c> records how far a database has come. Nodes that start at once take a
/// session advisory lock first, so exactly one of them applies each step.</summary>
internal static class PostgresMigrations
{
    /// <summary>The advisory lock key that serializes migrations across nodes ("parley" in ASCII).</summary>
    private const long MigrationLock = 0x7061726c6579;

    // Text columns that are ordered or compared as keys use the "C" collation, so order matches
    // the SQLite backend's (byte order) whatever the database's default collation is.
    private static readonly PgMigration[] Steps =
    [
        // 1: accounts, chats, memberships with watermarks, messages and events by global position,
        // the one-row stream position, and the cluster's node and connection registry.
        """
        CREATE TABLE users (
            id text COLLATE "C" PRIMARY KEY,
            email text COLLATE "C" UNIQUE,
            phone text COLLATE "C" UNIQUE,
            name text NOT NULL,
            search_name text COLLATE "C" NOT NULL,
            about text,
            avatar text,
            photo_media_id text,
            password_hash text NOT NULL,
            confirmed boolean NOT NULL,
            created_at bigint NOT NULL,
            last_seen bigint NOT NULL DEFAULT 0
        );
        CREATE INDEX users_by_name ON users (search_name, id);

        CREATE TABLE signing_keys (
            kid text PRIMARY KEY,
            private_key text NOT NULL,
            created_at bigint NOT NULL
        );

        CREATE TABLE refresh_tokens (
            token_hash text PRIMARY KEY,
            user_id text NOT NULL,
            family_id text NOT NULL,
            created_at bigint NOT NULL,
            expires_at bigint NOT NULL,
            used_at bigint,
            revoked boolean NOT NULL DEFAULT false
        );
        CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
        CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

        CREATE TABLE codes (
            user_id text NOT NULL,
            purpose text NOT NULL,
            code_hash text NOT NULL,
            expires_at bigint NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            PRIMARY KEY (user_id, purpose)
        );

        CREATE TABLE chats (
            id text COLLATE "C" PRIMARY KEY,
            is_group boolean NOT NULL,
            name text,
            description text,
            created_by text,
            created_at bigint NOT NULL,
            last_seq bigint NOT NULL DEFAULT 0,
            last_message_pos bigint,
            last_activity bigint NOT NULL
        );

        CREATE TABLE members (
            chat_id text COLLATE "C" NOT NULL,
            user_id text COLLATE "C" NOT NULL,
            role text NOT NULL,
            joined_at bigint NOT NULL,
            joined_seq bigint NOT NULL,
            joined_pos bigint NOT NULL,
            delivered_seq bigint NOT NULL,
            delivered_at bigint NOT NULL,
            read_seq bigint NOT NULL,
            read_at bigint NOT NULL,
            own_after_read bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (chat_id, user_id)
        );
        CREATE INDEX members_by_user ON members (user_id);

        CREATE TABLE messages (
            pos bigint PRIMARY KEY,
            id text NOT NULL,
            chat_id text COLLATE "C" NOT NULL,
            seq bigint NOT NULL,
            sender_id text NOT NULL,
            sender_name text NOT NULL,
            sender_avatar text,
            type text NOT NULL,
            content text,
            timestamp bigint NOT NULL,
            client_message_id text,
            reply_to text,
            reply_quote text,
            system_action text,
            affected_user_name text,
            media text,
            edited_at bigint,
            deleted boolean NOT NULL DEFAULT false
        );
        CREATE INDEX messages_by_chat ON messages (chat_id, pos);
        CREATE UNIQUE INDEX messages_by_id ON messages (id);
        CREATE UNIQUE INDEX messages_by_seq ON messages (chat_id, seq);
        CREATE UNIQUE INDEX messages_by_client_id ON messages (chat_id, sender_id, client_message_id)
            WHERE client_message_id IS NOT NULL;

        CREATE TABLE events (
            pos bigint PRIMARY KEY,
            kind integer NOT NULL,
            chat_id text COLLATE "C" NOT NULL,
            target_user_id text,
            data text
        );
        CREATE INDEX events_by_chat ON events (chat_id, pos) WHERE target_user_id IS NULL;
        CREATE INDEX events_by_target ON events (target_user_id, pos) WHERE target_user_id IS NOT NULL;

        CREATE TABLE blocks (
            user_id text NOT NULL,
            blocked_id text NOT NULL,
            created_at bigint NOT NULL,
            PRIMARY KEY (user_id, blocked_id)
        );

        -- The global event position. A transaction that creates events locks this row first and
        -- raises pos by the positions it used before it commits: commits happen in position order,
        -- and the committed pos is a cursor no in-flight event can fall behind.
        CREATE TABLE stream (
            id integer PRIMARY KEY CHECK (id = 1),
            pos bigint NOT NULL
        );
        INSERT INTO stream (id, pos) VALUES (1, 0);

        -- Cluster: live nodes, and which node holds sockets of which user (heartbeated, with an expiry).
        CREATE TABLE nodes (
            node_id text PRIMARY KEY,
            started_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL
        );
        CREATE TABLE connections (
            user_id text COLLATE "C" NOT NULL,
            node_id text NOT NULL,
            sockets integer NOT NULL,
            expires_at timestamptz NOT NULL,
            PRIMARY KEY (user_id, node_id)
        );
        CREATE INDEX connections_by_node ON connections (node_id);
        """,

        // 2: deleted accounts keep their id (old messages point at it) but nothing else.
        """
        ALTER TABLE users ADD COLUMN deleted_at bigint;
        """,

        // 3: messages a member deleted for themselves only.
        """
        CREATE TABLE hidden_messages (
            user_id text NOT NULL,
            message_id text NOT NULL,
            PRIMARY KEY (user_id, message_id)
        );
        """,

        // 4: uploaded media, and the chats each was sent to (who may download it).
        """
        CREATE TABLE media (
            id text PRIMARY KEY,
            uploader_id text NOT NULL,
            content_type text NOT NULL,
            size bigint NOT NULL,
            data bytea NOT NULL,
            created_at bigint NOT NULL
        );
        CREATE TABLE media_chats (
            media_id text NOT NULL,
            chat_id text NOT NULL,
            PRIMARY KEY (media_id, chat_id)
        );
        """,

        // 5: when a user's sessions were last revoked (ms). No longer written or read: revocations are
        // rows of session_revocations. The column stays until a later release can drop it without
        // breaking the nodes of this one during a rolling upgrade.
        """
        ALTER TABLE users ADD COLUMN sessions_revoked_at bigint NOT NULL DEFAULT 0;
        """,

        // 6: memberships that ended, so a removed member can still sync what came before.
        """
        CREATE TABLE past_members (
            chat_id text COLLATE "C" NOT NULL,
            user_id text NOT NULL,
            joined_pos bigint NOT NULL,
            left_pos bigint NOT NULL,
            PRIMARY KEY (user_id, left_pos, chat_id)
        );
        """,

        // 7: per-member chat settings; the chat-wide disappearing timer and each message's end of life.
        """
        CREATE TABLE chat_settings (
            user_id text COLLATE "C" NOT NULL,
            chat_id text COLLATE "C" NOT NULL,
            muted_until bigint NOT NULL DEFAULT 0,
            previews boolean NOT NULL DEFAULT true,
            pinned boolean NOT NULL DEFAULT false,
            archived boolean NOT NULL DEFAULT false,
            PRIMARY KEY (user_id, chat_id)
        );
        ALTER TABLE chats ADD COLUMN disappear_after_seconds integer NOT NULL DEFAULT 0;
        ALTER TABLE messages ADD COLUMN expires_at bigint;
        CREATE INDEX messages_expiring ON messages (expires_at) WHERE expires_at IS NOT NULL;
        CREATE INDEX messages_by_reply ON messages (reply_to) WHERE reply_to IS NOT NULL;
        """,

        // 8: Web Push subscriptions, and secrets the server makes once (the VAPID key pair).
        """
        CREATE TABLE push_subscriptions (
            endpoint text PRIMARY KEY,
            user_id text COLLATE "C" NOT NULL,
            p256dh text NOT NULL,
            auth text NOT NULL,
            created_at bigint NOT NULL
        );
        CREATE INDEX push_subscriptions_by_user ON push_subscriptions (user_id);
        CREATE TABLE server_secrets (
            name text PRIMARY KEY,
            value text NOT NULL,
            created_at bigint NOT NULL
        );
        """,

        // 9: accounts of external OIDC issuers (Cognito or another), each mapped to one Parley user.
        """
        CREATE TABLE external_identities (
            issuer text NOT NULL,
            subject text NOT NULL,
            user_id text NOT NULL,
            created_at bigint NOT NULL,
            PRIMARY KEY (issuer, subject)
        );
        CREATE INDEX external_identities_by_user ON external_identities (user_id);
        """,

        // 10: ended sessions (a null session: all of the user's), kept while their access tokens
        // could still be presented; two-step verification (TOTP) and its recovery codes.
        """
        CREATE TABLE session_revocations (
            user_id text NOT NULL,
            session_id text,
            revoked_at bigint NOT NULL
        );
        CREATE INDEX session_revocations_by_time ON session_revocations (revoked_at);
        CREATE TABLE mfa (
            user_id text PRIMARY KEY,
            secret bytea NOT NULL,
            enabled boolean NOT NULL,
            last_step bigint NOT NULL
        );
        CREATE TABLE mfa_recovery_codes (
            user_id text NOT NULL,
            code_hash text NOT NULL,
            used_at bigint,
            PRIMARY KEY (user_id, code_hash)
        );
        """,

        // 11: full-text search over message text: an expression index, so edits and deletes update it
        // by themselves. Words are runs of letters and digits, as in the SQLite backend's tokenizer.
        """
        CREATE INDEX messages_search ON messages
            USING gin (to_tsvector('simple'::regconfig, regexp_replace(content, '[^[:alnum:]]+', ' ', 'g')))
            WHERE type <> 'system' AND content IS NOT NULL AND NOT deleted;
        """,

        // 12: one-use WebSocket tickets (hashed), shared by every node. Each keeps the session of
        // the access token that asked for it, so ending that session ends it.
        """
        CREATE TABLE ws_tickets (
            ticket_hash text PRIMARY KEY,
            user_id text NOT NULL,
            session_id text,
            issued_at bigint NOT NULL,
            expires_at bigint NOT NULL
        );
        CREATE INDEX ws_tickets_by_expiry ON ws_tickets (expires_at);
        CREATE INDEX ws_tickets_by_user ON ws_tickets (user_id, expires_at);
        """,

        // 13: a reply's quote follows the quoted message (edits and deletes for everyone update it
        // from now on, in the message rules); replies stored before that take it up once here.
        """
        UPDATE messages AS reply
        SET reply_quote = CASE WHEN quoted.deleted THEN NULL WHEN quoted.content IS NULL THEN '' ELSE left(quoted.content, 100) END
        FROM messages AS quoted
        WHERE reply.reply_to IS NOT NULL AND reply.reply_quote IS NOT NULL
          AND quoted.id = reply.reply_to AND quoted.chat_id = reply.chat_id
          AND (quoted.deleted OR quoted.edited_at IS NOT NULL);
        """,

        // 14: media bytes leave the database for the blob store; the row keeps their description.
        // Deleting an account finds its uploads, and a download the profile using a photo, by index.
        new("""
            ALTER TABLE media DROP COLUMN data;
            CREATE INDEX media_by_uploader ON media (uploader_id);
            CREATE INDEX users_by_photo ON users (photo_media_id) WHERE photo_media_id IS NOT NULL;
            """, MoveMediaBytesAsync) { Number = MediaBytesStep },

        // 15: several writers, no row that every send writes. Positions come from a sequence, taken
        // while the chat's row is locked, so a chat's events are in position order. Each node's
        // writer holds one row of stream (a lease: owner, lease_until), commits its own positions in
        // order and raises its row's pos to the highest it committed; the old single row carries on
        // as writer 1, unowned. Every event records its writer, and the chat's event before it
        // (prev_pos, prev_writer, kept on the chat row), so that a node hands a chat's events on in
        // order even when two writers stored them.
        """
        CREATE SEQUENCE stream_positions;
        SELECT setval('stream_positions', greatest(pos, 1), pos > 0) FROM stream WHERE id = 1;
        ALTER TABLE stream DROP CONSTRAINT stream_id_check;
        ALTER TABLE stream ADD COLUMN owner text, ADD COLUMN lease_until timestamptz;
        ALTER TABLE messages ADD COLUMN writer integer NOT NULL DEFAULT 1, ADD COLUMN prev_pos bigint NOT NULL DEFAULT 0,
            ADD COLUMN prev_writer integer;
        ALTER TABLE messages ALTER COLUMN writer DROP DEFAULT;
        ALTER TABLE events ADD COLUMN writer integer NOT NULL DEFAULT 1, ADD COLUMN prev_pos bigint NOT NULL DEFAULT 0,
            ADD COLUMN prev_writer integer;
        ALTER TABLE events ALTER COLUMN writer DROP DEFAULT;
        ALTER TABLE chats ADD COLUMN last_event_pos bigint NOT NULL DEFAULT 0, ADD COLUMN last_event_writer integer,
            ADD COLUMN prev_event_pos bigint NOT NULL DEFAULT 0, ADD COLUMN prev_event_writer integer;
        """,

        // 16: attempts per account (failed sign-ins, codes sent; hashed keys), so every node counts the same ones.
        """
        CREATE TABLE account_attempts (key text PRIMARY KEY, window_start bigint NOT NULL, attempts integer NOT NULL);
        CREATE INDEX account_attempts_by_start ON account_attempts (window_start);
        """,

        // 17: a system message records whose name it carries as the member added, removed or left,
        // so deleting that account rewrites the name (see StoredRows.ForgetAffectedName). Rows
        // stored before have none. A nullable column without a default rewrites no row; the partial
        // index holds only the rows that have one (none yet). Nodes of the release before write
        // their messages without it, as they did.
        """
        ALTER TABLE messages ADD COLUMN affected_user_id text;
        CREATE INDEX messages_by_affected_user ON messages (affected_user_id) WHERE affected_user_id IS NOT NULL;
        """,

        // 18: a deleted account's name leaves its messages in slices of positions, each a write of its
        // own, instead of one scan of every message in the deletion's transaction; the scrubs still
        // under way are kept here, so one a stop cut short finishes at the next start (see
        // Rules.SenderScrubs). Nodes of the release before still scrub in one statement, as they did.
        """
        CREATE TABLE sender_scrubs (
            user_id text PRIMARY KEY,
            next_pos bigint NOT NULL,
            end_pos bigint NOT NULL
        );
        """,
    ];

    /// <summary>The step that moves media bytes to the blob store.</summary>
    public const int MediaBytesStep = 14;

    private static readonly int[] Numbers = MigrationNumbers.Assign([.. Steps.Select(step => step.Number)]);

    /// <summary>Brings the database to <paramref name="upTo"/> (default: the newest step), one
    /// transaction per step.</summary>
    public static async Task ApplyAsync(NpgsqlConnection connection, IBlobStore blobs, CancellationToken ct, int? upTo = null)
    {
        await connection.ExecuteAsync("SELECT pg_advisory_lock($1)", MigrationLock).ConfigureAwait(false);
        try
        {
            await connection.ExecuteAsync(
                "CREATE TABLE IF NOT EXISTS parley_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
                .ConfigureAwait(false);
            var version = (int)await connection.ScalarAsync("SELECT coalesce(max(version), 0) FROM parley_migrations").ConfigureAwait(false);
            for (var i = 0; i < Steps.Length; i++)
            {
                var number = Numbers[i];
                if (number <= version) continue;
                if (number > (upTo ?? int.MaxValue)) break;
                ct.ThrowIfCancellationRequested();
                await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
                if (Steps[i].Before is { } before) await before(connection, blobs, ct).ConfigureAwait(false);
                await connection.ExecuteAsync(Steps[i].Sql).ConfigureAwait(false);
                await connection.ExecuteAsync("INSERT INTO parley_migrations (version) VALUES ($1)", number).ConfigureAwait(false);
                await transaction.CommitAsync(ct).ConfigureAwait(false);
            }
        }
        finally
        {
            await connection.ExecuteAsync("SELECT pg_advisory_unlock($1)", MigrationLock).ConfigureAwait(false);
        }
    }

    /// <summary>Copies every stored media file to the blob store (under its media id) before the
    /// column goes. Puts overwrite, so a step interrupted before its commit is simply run again.</summary>
    private static async Task MoveMediaBytesAsync(NpgsqlConnection connection, IBlobStore blobs, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT id, content_type, data FROM media", connection);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            await blobs.PutAsync(reader.GetString(0), reader.GetFieldValue<byte[]>(2), reader.GetString(1), ct).ConfigureAwait(false);
        }
    }
}

/// <summary>One numbered step: its SQL, and work that runs first in the same transaction (moving
/// data somewhere SQL cannot reach). <see cref="Number"/>: its own number, when it has one (see
/// <see cref="MigrationNumbers"/>).</summary>
internal sealed record PgMigration(string Sql, Func<NpgsqlConnection, IBlobStore, CancellationToken, Task>? Before = null)
{
    public int? Number { get; init; }

    public static implicit operator PgMigration(string sql) => new(sql);
}

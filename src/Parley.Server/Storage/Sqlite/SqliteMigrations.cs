using Microsoft.Data.Sqlite;
using Parley.Server.Blobs;

namespace Parley.Server.Storage.Sqlite;

/// <summary>Numbered schema migrations. Append new ones; never edit a released one.
/// <c>PRAGMA user_version</c> records how far a database has come (the number of its last step).</summary>
internal static class SqliteMigrations
{
    private static readonly Migration[] Steps =
    [
        // 1: accounts, chats, memberships with watermarks, messages by global position, events.
        """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            email TEXT UNIQUE,
            phone TEXT UNIQUE,
            name TEXT NOT NULL,
            search_name TEXT NOT NULL,
            about TEXT,
            avatar TEXT,
            photo_media_id TEXT,
            password_hash TEXT NOT NULL,
            confirmed INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            last_seen INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE INDEX users_by_name ON users (search_name, id);

        CREATE TABLE signing_keys (
            kid TEXT PRIMARY KEY,
            private_key TEXT NOT NULL,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE refresh_tokens (
            token_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            family_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER,
            revoked INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
        CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

        CREATE TABLE codes (
            user_id TEXT NOT NULL,
            purpose TEXT NOT NULL,
            code_hash TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (user_id, purpose)
        ) WITHOUT ROWID;

        CREATE TABLE chats (
            id TEXT PRIMARY KEY,
            is_group INTEGER NOT NULL,
            name TEXT,
            description TEXT,
            created_by TEXT,
            created_at INTEGER NOT NULL,
            last_seq INTEGER NOT NULL DEFAULT 0,
            last_message_pos INTEGER,
            last_activity INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE members (
            chat_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            role TEXT NOT NULL,
            joined_at INTEGER NOT NULL,
            joined_seq INTEGER NOT NULL,
            joined_pos INTEGER NOT NULL,
            delivered_seq INTEGER NOT NULL,
            delivered_at INTEGER NOT NULL,
            read_seq INTEGER NOT NULL,
            read_at INTEGER NOT NULL,
            own_after_read INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (chat_id, user_id)
        ) WITHOUT ROWID;
        CREATE INDEX members_by_user ON members (user_id);

        CREATE TABLE messages (
            pos INTEGER PRIMARY KEY,
            id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            sender_id TEXT NOT NULL,
            sender_name TEXT NOT NULL,
            sender_avatar TEXT,
            type TEXT NOT NULL,
            content TEXT,
            timestamp INTEGER NOT NULL,
            client_message_id TEXT,
            reply_to TEXT,
            reply_quote TEXT,
            system_action TEXT,
            affected_user_name TEXT,
            media TEXT,
            edited_at INTEGER,
            deleted INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX messages_by_chat ON messages (chat_id, pos);
        CREATE UNIQUE INDEX messages_by_id ON messages (id);
        CREATE UNIQUE INDEX messages_by_client_id ON messages (chat_id, sender_id, client_message_id)
            WHERE client_message_id IS NOT NULL;

        CREATE TABLE events (
            pos INTEGER PRIMARY KEY,
            kind INTEGER NOT NULL,
            chat_id TEXT NOT NULL,
            target_user_id TEXT,
            data TEXT
        );
        CREATE INDEX events_by_chat ON events (chat_id, pos) WHERE target_user_id IS NULL;
        CREATE INDEX events_by_target ON events (target_user_id, pos) WHERE target_user_id IS NOT NULL;

        CREATE TABLE blocks (
            user_id TEXT NOT NULL,
            blocked_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, blocked_id)
        ) WITHOUT ROWID;
        """,

        // 2: deleted accounts keep their id (old messages point at it) but nothing else.
        """
        ALTER TABLE users ADD COLUMN deleted_at INTEGER;
        """,

        // 3: messages a member deleted for themselves only.
        """
        CREATE TABLE hidden_messages (
            user_id TEXT NOT NULL,
            message_id TEXT NOT NULL,
            PRIMARY KEY (user_id, message_id)
        ) WITHOUT ROWID;
        """,

        // 4: uploaded media, and the chats each was sent to (who may download it).
        """
        CREATE TABLE media (
            id TEXT PRIMARY KEY,
            uploader_id TEXT NOT NULL,
            content_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            data BLOB NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE media_chats (
            media_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            PRIMARY KEY (media_id, chat_id)
        ) WITHOUT ROWID;
        """,

        // 5: when a user's sessions were last revoked (ms). No longer written or read: revocations are
        // rows of session_revocations. The column stays until a later release can drop it without
        // breaking the nodes of this one during a rolling upgrade.
        """
        ALTER TABLE users ADD COLUMN sessions_revoked_at INTEGER NOT NULL DEFAULT 0;
        """,

        // 6: memberships that ended, so a removed member can still sync what came before.
        """
        CREATE TABLE past_members (
            chat_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            joined_pos INTEGER NOT NULL,
            left_pos INTEGER NOT NULL,
            PRIMARY KEY (user_id, left_pos, chat_id)
        ) WITHOUT ROWID;
        """,

        // 7: per-member chat settings; the chat-wide disappearing timer and each message's end of life.
        """
        CREATE TABLE chat_settings (
            user_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            muted_until INTEGER NOT NULL DEFAULT 0,
            previews INTEGER NOT NULL DEFAULT 1,
            pinned INTEGER NOT NULL DEFAULT 0,
            archived INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (user_id, chat_id)
        ) WITHOUT ROWID;
        ALTER TABLE chats ADD COLUMN disappear_after_seconds INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE messages ADD COLUMN expires_at INTEGER;
        CREATE INDEX messages_expiring ON messages (expires_at) WHERE expires_at IS NOT NULL;
        CREATE INDEX messages_by_reply ON messages (reply_to) WHERE reply_to IS NOT NULL;
        """,

        // 8: Web Push subscriptions, and secrets the server makes once (the VAPID key pair).
        """
        CREATE TABLE push_subscriptions (
            endpoint TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            p256dh TEXT NOT NULL,
            auth TEXT NOT NULL,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX push_subscriptions_by_user ON push_subscriptions (user_id);
        CREATE TABLE server_secrets (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,

        // 9: accounts of external OIDC issuers (Cognito or another), each mapped to one Parley user.
        """
        CREATE TABLE external_identities (
            issuer TEXT NOT NULL,
            subject TEXT NOT NULL,
            user_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (issuer, subject)
        ) WITHOUT ROWID;
        CREATE INDEX external_identities_by_user ON external_identities (user_id);
        """,

        // 10: ended sessions (a null session: all of the user's), kept while their access tokens
        // could still be presented; two-step verification (TOTP) and its recovery codes.
        """
        CREATE TABLE session_revocations (
            user_id TEXT NOT NULL,
            session_id TEXT,
            revoked_at INTEGER NOT NULL
        );
        CREATE INDEX session_revocations_by_time ON session_revocations (revoked_at);
        CREATE TABLE mfa (
            user_id TEXT PRIMARY KEY,
            secret BLOB NOT NULL,
            enabled INTEGER NOT NULL,
            last_step INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE mfa_recovery_codes (
            user_id TEXT NOT NULL,
            code_hash TEXT NOT NULL,
            used_at INTEGER,
            PRIMARY KEY (user_id, code_hash)
        ) WITHOUT ROWID;
        """,

        // 11: full-text search over message text. Contentless (the text stays in messages only);
        // triggers keep it in step with every insert, edit and delete (also the disappearing-message
        // sweep's), and system messages, deleted messages and media without a caption are never in it.
        """
        CREATE VIRTUAL TABLE message_search USING fts5 (
            content, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0'
        );
        CREATE TRIGGER message_search_add AFTER INSERT ON messages
        WHEN new.type <> 'system' AND new.content IS NOT NULL AND new.deleted = 0
        BEGIN
            INSERT INTO message_search (rowid, content) VALUES (new.pos, new.content);
        END;
        CREATE TRIGGER message_search_change AFTER UPDATE OF content, deleted, type ON messages
        BEGIN
            DELETE FROM message_search WHERE rowid = old.pos;
            INSERT INTO message_search (rowid, content)
            SELECT new.pos, new.content WHERE new.type <> 'system' AND new.content IS NOT NULL AND new.deleted = 0;
        END;
        CREATE TRIGGER message_search_remove AFTER DELETE ON messages
        BEGIN
            DELETE FROM message_search WHERE rowid = old.pos;
        END;
        INSERT INTO message_search (rowid, content)
        SELECT pos, content FROM messages WHERE type <> 'system' AND content IS NOT NULL AND deleted = 0;
        """,

        // 12: one-use WebSocket tickets (hashed), so browsers keep access tokens out of URLs. Each
        // keeps the session of the access token that asked for it, so ending that session ends it.
        """
        CREATE TABLE ws_tickets (
            ticket_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            session_id TEXT,
            issued_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX ws_tickets_by_expiry ON ws_tickets (expires_at);
        CREATE INDEX ws_tickets_by_user ON ws_tickets (user_id, expires_at);
        """,

        // 13: a reply's quote follows the quoted message (edits and deletes for everyone update it
        // from now on, in the message rules); replies stored before that take it up once here.
        """
        UPDATE messages AS reply SET reply_quote = (
            SELECT CASE WHEN quoted.deleted <> 0 THEN NULL WHEN quoted.content IS NULL THEN '' ELSE substr(quoted.content, 1, 100) END
            FROM messages AS quoted WHERE quoted.id = reply.reply_to AND quoted.chat_id = reply.chat_id)
        WHERE reply.reply_to IS NOT NULL AND reply.reply_quote IS NOT NULL
          AND EXISTS (SELECT 1 FROM messages AS quoted WHERE quoted.id = reply.reply_to AND quoted.chat_id = reply.chat_id
                      AND (quoted.deleted <> 0 OR quoted.edited_at IS NOT NULL));
        """,

        // 14: media bytes leave the database for the blob store; the row keeps their description.
        // Deleting an account finds its uploads, and a download the profile using a photo, by index.
        new("""
            ALTER TABLE media DROP COLUMN data;
            CREATE INDEX media_by_uploader ON media (uploader_id);
            CREATE INDEX users_by_photo ON users (photo_media_id) WHERE photo_media_id IS NOT NULL;
            """, MoveMediaBytes) { Number = MediaBytesStep },

        // 15: new messages reach the full-text index in batches behind a watermark, not in each
        // send's transaction (see SqliteSearchIndex). Everything stored so far was indexed by the
        // trigger this drops. Edits and deletes still go through triggers, but only for messages
        // at or below the watermark: the rest are indexed as they stand when their batch runs.
        """
        CREATE TABLE search_index (indexed_pos INTEGER NOT NULL);
        INSERT INTO search_index (indexed_pos) SELECT coalesce(max(pos), 0) FROM messages;
        DROP TRIGGER message_search_add;
        DROP TRIGGER message_search_change;
        DROP TRIGGER message_search_remove;
        CREATE TRIGGER message_search_change AFTER UPDATE OF content, deleted, type ON messages
        WHEN old.pos <= (SELECT indexed_pos FROM search_index)
        BEGIN
            DELETE FROM message_search WHERE rowid = old.pos;
            INSERT INTO message_search (rowid, content)
            SELECT new.pos, new.content WHERE new.type <> 'system' AND new.content IS NOT NULL AND new.deleted = 0;
        END;
        CREATE TRIGGER message_search_remove AFTER DELETE ON messages
        WHEN old.pos <= (SELECT indexed_pos FROM search_index)
        BEGIN
            DELETE FROM message_search WHERE rowid = old.pos;
        END;
        """,

        // 16: attempts per account (failed sign-ins, codes sent; hashed keys), so every node counts the same ones.
        """
        CREATE TABLE account_attempts (key TEXT PRIMARY KEY, window_start INTEGER NOT NULL, attempts INTEGER NOT NULL);
        CREATE INDEX account_attempts_by_start ON account_attempts (window_start);
        """,

        // 17: the words of a message deleted or edited away leave the full-text index's pages at once,
        // not when a later merge drops them. A contentless_delete index only records a tombstone on
        // a DELETE (it has no text to find the words by), so the index is made again as a plain
        // contentless one, whose 'delete' command is given the text that was indexed; with
        // secure-delete the words are then removed from the pages, and the writer's secure_delete
        // zeroes the space they freed. The WHEN clauses name exactly the rows in the index: at or
        // below the watermark, and indexable as they were. Everything below the watermark is indexed
        // again here, once.
        """
        DROP TRIGGER message_search_change;
        DROP TRIGGER message_search_remove;
        DROP TABLE message_search;
        CREATE VIRTUAL TABLE message_search USING fts5 (
            content, content = '', tokenize = 'unicode61 remove_diacritics 0'
        );
        INSERT INTO message_search (message_search, rank) VALUES ('secure-delete', 1);
        INSERT INTO message_search (rowid, content)
        SELECT pos, content FROM messages
        WHERE pos <= (SELECT indexed_pos FROM search_index) AND type <> 'system' AND content IS NOT NULL AND deleted = 0;
        CREATE TRIGGER message_search_change AFTER UPDATE OF content, deleted, type ON messages
        WHEN old.pos <= (SELECT indexed_pos FROM search_index)
        BEGIN
            INSERT INTO message_search (message_search, rowid, content)
            SELECT 'delete', old.pos, old.content WHERE old.type <> 'system' AND old.content IS NOT NULL AND old.deleted = 0;
            INSERT INTO message_search (rowid, content)
            SELECT new.pos, new.content WHERE new.type <> 'system' AND new.content IS NOT NULL AND new.deleted = 0;
        END;
        CREATE TRIGGER message_search_remove AFTER DELETE ON messages
        WHEN old.pos <= (SELECT indexed_pos FROM search_index) AND old.type <> 'system' AND old.content IS NOT NULL AND old.deleted = 0
        BEGIN
            INSERT INTO message_search (message_search, rowid, content) VALUES ('delete', old.pos, old.content);
        END;
        """,

        // 18: the sends' idempotency keys leave the unique index on the messages for a table of their
        // own, written in sorted batches behind a watermark (see SqliteClientIds).
        new("""
        CREATE TABLE client_ids (
            chat_id TEXT NOT NULL,
            sender_id TEXT NOT NULL,
            client_message_id TEXT NOT NULL,
            pos INTEGER NOT NULL,
            PRIMARY KEY (chat_id, sender_id, client_message_id)
        ) WITHOUT ROWID;
        INSERT INTO client_ids (chat_id, sender_id, client_message_id, pos)
        SELECT chat_id, sender_id, client_message_id, pos FROM messages WHERE client_message_id IS NOT NULL
        ORDER BY chat_id, sender_id, client_message_id;
        CREATE TABLE client_ids_indexed (indexed_pos INTEGER NOT NULL);
        INSERT INTO client_ids_indexed (indexed_pos) SELECT coalesce(max(pos), 0) FROM messages;
        DROP INDEX messages_by_client_id;
        """) { Number = ClientIdsStep },

        // 19: the index of the messages by chat leaves for a table of (chat, position), written in
        // chat order a chunk at a time behind a watermark (see SqliteChatPositions).
        new("""
        CREATE TABLE chat_positions (
            chat_id TEXT NOT NULL,
            pos INTEGER NOT NULL,
            PRIMARY KEY (chat_id, pos)
        ) WITHOUT ROWID;
        INSERT INTO chat_positions (chat_id, pos) SELECT chat_id, pos FROM messages ORDER BY chat_id, pos;
        CREATE TABLE chat_positions_indexed (indexed_pos INTEGER NOT NULL);
        INSERT INTO chat_positions_indexed (indexed_pos) SELECT coalesce(max(pos), 0) FROM messages;
        DROP INDEX messages_by_chat;
        """) { Number = ChatPositionsStep },

        // 20: the sends' keys are held in their table as a 64-bit hash under a seed of this
        // database's, not as their text: a table a sixth the size, so a chunk of keys rewrites far
        // fewer pages (see SqliteClientIds).
        new("""
        ALTER TABLE client_ids_indexed ADD COLUMN hash_seed INTEGER NOT NULL DEFAULT 0;
        UPDATE client_ids_indexed SET hash_seed = random();
        CREATE TABLE client_keys (
            key_hash INTEGER NOT NULL,
            pos INTEGER NOT NULL,
            PRIMARY KEY (key_hash, pos)
        ) WITHOUT ROWID;
        INSERT INTO client_keys (key_hash, pos)
        SELECT client_key_hash((SELECT hash_seed FROM client_ids_indexed), chat_id, sender_id, client_message_id), pos
        FROM client_ids ORDER BY 1, 2;
        DROP TABLE client_ids;
        """, (connection, _) => SqliteClientIds.AddHashFunction(connection)) { Number = ClientKeysStep },

        // 21: the full-text index no longer merges its segments by itself, a few hundred pages in
        // whichever transaction fills a level; the writer merges them a few pages a transaction
        // instead (see SqliteSearchIndex). The setting is stored with the index.
        """
        INSERT INTO message_search (message_search, rank) VALUES ('automerge', 0);
        """,

        // 22: a system message records whose name it carries as the member added, removed or left,
        // so deleting that account rewrites the name (see StoredRows.ForgetAffectedName). Rows
        // stored before have none. Adding a nullable column rewrites no row; the partial index
        // holds only the rows that have one (none yet), so sends of other messages never touch it.
        new("""
        ALTER TABLE messages ADD COLUMN affected_user_id TEXT;
        CREATE INDEX messages_by_affected_user ON messages (affected_user_id) WHERE affected_user_id IS NOT NULL;
        """) { Number = AffectedUserStep },

        // 23: a deleted account's name leaves its messages in slices of positions, each a write of its
        // own, instead of one scan of every message in the deletion's transaction; the scrubs still
        // under way are kept here, so one a stop cut short finishes at the next start (see
        // Rules.SenderScrubs). A new table: no row of another is rewritten.
        new("""
        CREATE TABLE sender_scrubs (
            user_id TEXT PRIMARY KEY,
            next_pos INTEGER NOT NULL,
            end_pos INTEGER NOT NULL
        ) WITHOUT ROWID;
        """) { Number = SenderScrubsStep },
    ];

    /// <summary>The step that moves media bytes to the blob store.</summary>
    public const int MediaBytesStep = 14;

    /// <summary>The step that gives the sends' idempotency keys a table of their own.</summary>
    public const int ClientIdsStep = 18;

    /// <summary>The step that gives the chats' message positions a table of their own.</summary>
    public const int ChatPositionsStep = 19;

    /// <summary>The step that holds the sends' idempotency keys as hashes.</summary>
    public const int ClientKeysStep = 20;

    /// <summary>The step that records the member a system message names by id.</summary>
    public const int AffectedUserStep = 22;

    /// <summary>The step that keeps the deleted accounts' name scrubs still under way.</summary>
    public const int SenderScrubsStep = 23;

    private static readonly int[] Numbers = MigrationNumbers.Assign([.. Steps.Select(step => step.Number)]);

    /// <summary>Brings the database to <paramref name="upTo"/> (default: the newest step), one
    /// transaction per step.</summary>
    public static void Apply(SqliteConnection connection, IBlobStore blobs, int? upTo = null)
    {
        var version = (int)connection.Scalar("PRAGMA user_version");
        for (var i = 0; i < Steps.Length; i++)
        {
            var number = Numbers[i];
            if (number <= version) continue;
            if (number > (upTo ?? int.MaxValue)) break;
            connection.Execute("BEGIN IMMEDIATE");
            try
            {
                Steps[i].Before?.Invoke(connection, blobs);
                connection.Execute(Steps[i].Sql);
                connection.Execute($"PRAGMA user_version = {number}");
                connection.Execute("COMMIT");
            }
            catch
            {
                connection.Execute("ROLLBACK");
                throw;
            }
        }
    }

    /// <summary>Copies every stored media file to the blob store (under its media id) before the
    /// column goes. Puts overwrite, so a step interrupted before its commit is simply run again.</summary>
    private static void MoveMediaBytes(SqliteConnection connection, IBlobStore blobs)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, content_type, data FROM media";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var data = (byte[])reader.GetValue(2);
            blobs.PutAsync(reader.GetString(0), data, reader.GetString(1)).GetAwaiter().GetResult();
        }
    }
}

/// <summary>One numbered step: its SQL, and work that runs first in the same transaction (moving
/// data somewhere SQL cannot reach). <see cref="Number"/>: its own number, when it has one (see
/// <see cref="MigrationNumbers"/>).</summary>
internal sealed record Migration(string Sql, Action<SqliteConnection, IBlobStore>? Before = null)
{
    public int? Number { get; init; }

    public static implicit operator Migration(string sql) => new(sql);
}

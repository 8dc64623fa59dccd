using Microsoft.Data.Sqlite;

namespace Parley.Server.Storage.Sqlite;

/// <summary>Numbered schema migrations. Append new ones; never edit a released one.
/// <c>PRAGMA user_version</c> records how far a database has come.</summary>
internal static class SqliteMigrations
{
    private static readonly string[] Steps =
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

        // 5: when a user's sessions were last revoked (ms); older access tokens are refused.
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

        // 7: full-text search over message text. Contentless (the text stays in messages only);
        // triggers keep it in step with every insert, edit and delete, and system messages,
        // deleted messages and media without a caption are never in it.
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

        // 8: one-use WebSocket tickets (hashed), so browsers keep access tokens out of URLs.
        """
        CREATE TABLE ws_tickets (
            ticket_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            issued_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX ws_tickets_by_expiry ON ws_tickets (expires_at);
        CREATE INDEX ws_tickets_by_user ON ws_tickets (user_id, expires_at);
        """,

        // 9: a reply's quote follows the quoted message: edited, it shows the new text; deleted for
        // everyone, the copy goes too (deleted content must not survive in quotes).
        """
        CREATE INDEX messages_by_reply ON messages (reply_to) WHERE reply_to IS NOT NULL;
        CREATE TRIGGER message_quotes_follow AFTER UPDATE OF content, deleted ON messages
        WHEN new.content IS NOT old.content OR new.deleted <> old.deleted
        BEGIN
            UPDATE messages SET reply_quote = CASE WHEN new.deleted <> 0 OR new.content IS NULL THEN '' ELSE substr(new.content, 1, 100) END
            WHERE reply_to = new.id AND chat_id = new.chat_id;
        END;
        UPDATE messages SET reply_quote = ''
        WHERE reply_to IN (SELECT id FROM messages WHERE deleted <> 0);
        """,
    ];

    public static void Apply(SqliteConnection connection)
    {
        var version = (int)connection.Scalar("PRAGMA user_version");
        for (var step = version; step < Steps.Length; step++)
        {
            connection.Execute("BEGIN IMMEDIATE");
            try
            {
                connection.Execute(Steps[step]);
                connection.Execute($"PRAGMA user_version = {step + 1}");
                connection.Execute("COMMIT");
            }
            catch
            {
                connection.Execute("ROLLBACK");
                throw;
            }
        }
    }
}

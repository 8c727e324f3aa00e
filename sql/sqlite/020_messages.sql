-- Messages (as sql/020_messages.sql). One counter row per conversation: a new message's seq is taken by
-- incrementing last_seq in the transaction that inserts the message, so a failed insert loses no seq.
CREATE TABLE IF NOT EXISTS conversations (
  id       TEXT    NOT NULL PRIMARY KEY,
  last_seq INTEGER NOT NULL DEFAULT 0,
  last_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS messages (
  id              TEXT    NOT NULL PRIMARY KEY,
  conversation_id TEXT    NOT NULL,
  seq             INTEGER NOT NULL,
  sender_id       TEXT    NOT NULL,
  type            TEXT    NOT NULL,
  content         TEXT    NULL,
  client_msg_id   TEXT    NOT NULL,
  status          TEXT    NOT NULL DEFAULT 'normal' CHECK (status IN ('normal', 'recalled')),
  created_at      INTEGER NOT NULL,
  recalled_at     INTEGER NULL
) STRICT;
-- paging by seq, and no two messages share a seq
CREATE UNIQUE INDEX IF NOT EXISTS uq_messages_conversation_seq ON messages (conversation_id, seq);
-- idempotent sends
CREATE UNIQUE INDEX IF NOT EXISTS uq_messages_sender_client ON messages (sender_id, client_msg_id);
-- unread counts: the caller's own messages after readSeq
CREATE INDEX IF NOT EXISTS ix_messages_conversation_sender_seq ON messages (conversation_id, sender_id, seq);

-- Per-user state of a conversation: read marker, delete-with-history marker, pin, mute, moderator mute.
CREATE TABLE IF NOT EXISTS user_conversations (
  user_id         TEXT    NOT NULL,
  conversation_id TEXT    NOT NULL,
  read_seq        INTEGER NOT NULL DEFAULT 0,
  cleared_seq     INTEGER NOT NULL DEFAULT 0,
  pinned          INTEGER NOT NULL DEFAULT 0,
  muted           INTEGER NOT NULL DEFAULT 0,
  silenced        INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, conversation_id)
) STRICT, WITHOUT ROWID;
-- fan-out: who muted this conversation
CREATE INDEX IF NOT EXISTS ix_user_conversations_muted ON user_conversations (conversation_id, muted, user_id);

-- Delete-for-me of single messages.
CREATE TABLE IF NOT EXISTS message_hides (
  user_id         TEXT    NOT NULL,
  message_id      TEXT    NOT NULL,
  conversation_id TEXT    NOT NULL,
  seq             INTEGER NOT NULL,
  PRIMARY KEY (user_id, message_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_message_hides_user_conversation_seq ON message_hides (user_id, conversation_id, seq);

-- Messages (the one-database install; with MONGODB_URI set they live in MongoDB instead).
-- Conversation ids: p:<small>:<large>, g:<groupId>, w:world.
-- One counter row per conversation: the seq of a new message is allocated by incrementing last_seq in the
-- same transaction that inserts the message, so a failed insert rolls the counter back (no gaps).
CREATE TABLE IF NOT EXISTS conversations (
  id         VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  last_seq   BIGINT UNSIGNED NOT NULL DEFAULT 0,
  last_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS messages (
  id              CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  conversation_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  seq             BIGINT UNSIGNED NOT NULL,
  sender_id       VARCHAR(20) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  type            VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  content         MEDIUMTEXT NULL,
  client_msg_id   VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  status          ENUM('normal','recalled') NOT NULL DEFAULT 'normal',
  created_at      DATETIME(3) NOT NULL,
  recalled_at     DATETIME(3) NULL,
  -- paging by seq, and the no-two-messages-share-a-seq guarantee
  UNIQUE KEY uq_messages_conversation_seq (conversation_id, seq),
  -- idempotent sends
  UNIQUE KEY uq_messages_sender_client (sender_id, client_msg_id),
  -- unread counts: the caller's own messages after readSeq
  KEY ix_messages_conversation_sender_seq (conversation_id, sender_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Per-user state of a conversation: read marker, delete-with-history marker, pin, mute, moderator mute.
CREATE TABLE IF NOT EXISTS user_conversations (
  user_id         VARCHAR(20) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  conversation_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  read_seq        BIGINT UNSIGNED NOT NULL DEFAULT 0,
  cleared_seq     BIGINT UNSIGNED NOT NULL DEFAULT 0,
  pinned          TINYINT(1) NOT NULL DEFAULT 0,
  muted           TINYINT(1) NOT NULL DEFAULT 0,
  silenced        TINYINT(1) NOT NULL DEFAULT 0,
  updated_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user_id, conversation_id),
  -- fan-out: who muted this conversation
  KEY ix_user_conversations_muted (conversation_id, muted, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Delete-for-me of single messages.
CREATE TABLE IF NOT EXISTS message_hides (
  user_id         VARCHAR(20) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  message_id      CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  conversation_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  seq             BIGINT UNSIGNED NOT NULL,
  created_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user_id, message_id),
  KEY ix_message_hides_user_conversation_seq (user_id, conversation_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

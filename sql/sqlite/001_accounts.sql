-- Accounts (the embedded engine's copy of sql/001_accounts.sql). SQLite compares text byte by byte, so the
-- case- and accent-insensitive rules MariaDB's collation gives are kept in key columns the store writes
-- (src/infra/sqlite.ts: usernameKey, foldText). Times are epoch milliseconds.
CREATE TABLE IF NOT EXISTS users (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  username      TEXT    NOT NULL,
  username_key  TEXT    NOT NULL,
  domain        TEXT    NOT NULL DEFAULT '',
  password_hash TEXT    NULL,
  nickname      TEXT    NOT NULL,
  nickname_key  TEXT    NOT NULL,
  avatar        TEXT    NULL,
  birth_date    TEXT    NULL,
  presence      TEXT    NOT NULL DEFAULT 'online' CHECK (presence IN ('online', 'away', 'busy', 'invisible')),
  status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'deleted')),
  role          TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS uq_users_username_domain ON users (username_key, domain);
-- nickname search: one range in (nickname_key, id) order
CREATE INDEX IF NOT EXISTS ix_users_nickname ON users (status, nickname_key, id);

-- Secrets every instance of a deployment shares (`jwt`: the token signing key when JWT_SECRET is not set).
CREATE TABLE IF NOT EXISTS server_secrets (
  name       TEXT    NOT NULL PRIMARY KEY,
  value      TEXT    NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

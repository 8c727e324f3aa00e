-- Uploaded files' metadata (as sql/030_uploads.sql); the bytes live in the storage engine.
CREATE TABLE IF NOT EXISTS uploads (
  id          TEXT    NOT NULL PRIMARY KEY,
  owner_id    TEXT    NOT NULL,
  kind        TEXT    NOT NULL CHECK (kind IN ('image', 'voice', 'video', 'file')),
  mime        TEXT    NOT NULL,
  size        INTEGER NOT NULL,
  name        TEXT    NOT NULL,
  width       INTEGER NULL,
  height      INTEGER NULL,
  duration    REAL    NULL,
  storage_key TEXT    NOT NULL,
  thumb_key   TEXT    NULL,
  thumb_size  INTEGER NULL,
  created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS ix_uploads_owner ON uploads (owner_id);
CREATE INDEX IF NOT EXISTS ix_uploads_storage_key ON uploads (storage_key);
CREATE INDEX IF NOT EXISTS ix_uploads_thumb_key ON uploads (thumb_key);
CREATE INDEX IF NOT EXISTS ix_uploads_created ON uploads (created_at);

-- Which messages refer to an upload; readers of such a message may read the upload.
CREATE TABLE IF NOT EXISTS upload_refs (
  upload_id       TEXT    NOT NULL,
  message_id      TEXT    NOT NULL,
  conversation_id TEXT    NOT NULL,
  created_at      INTEGER NOT NULL,
  PRIMARY KEY (upload_id, message_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_upload_refs_message ON upload_refs (message_id);

-- Uploaded files (their bytes live in the storage engine: DATA_DIR/uploads or an S3 bucket).
-- storage_key is the content hash of the bytes served; several uploads of the same bytes share one blob.
CREATE TABLE IF NOT EXISTS uploads (
  id            CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  owner_id      VARCHAR(20) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  kind          ENUM('image','voice','video','file') NOT NULL,
  mime          VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  size          BIGINT UNSIGNED NOT NULL,
  name          VARCHAR(255) NOT NULL,
  width         INT UNSIGNED NULL,
  height        INT UNSIGNED NULL,
  duration      DOUBLE NULL,
  storage_key   CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  thumb_key     CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  thumb_size    BIGINT UNSIGNED NULL,
  created_at    DATETIME(3) NOT NULL,
  -- quota: bytes per owner
  KEY ix_uploads_owner (owner_id),
  -- is a blob still used by another upload
  KEY ix_uploads_storage_key (storage_key),
  KEY ix_uploads_thumb_key (thumb_key),
  -- the orphan sweep
  KEY ix_uploads_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Which messages refer to an upload (written when a message with content.uploadId is stored, with either
-- message store); readers of such a message may read the upload.
CREATE TABLE IF NOT EXISTS upload_refs (
  upload_id       CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  message_id      CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  conversation_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (upload_id, message_id),
  KEY ix_upload_refs_message (message_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

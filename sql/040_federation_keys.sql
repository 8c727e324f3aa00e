-- Federation identity: this deployment's ed25519 signing keys (every instance shares them) and the keys
-- fetched from peers. `current` is 1 for the one key in use and NULL for retired ones, so a unique index
-- lets concurrent first starts race safely (INSERT IGNORE, then read back).
CREATE TABLE IF NOT EXISTS federation_keys (
  key_id      VARCHAR(64)  NOT NULL PRIMARY KEY,
  public_key  VARBINARY(32) NOT NULL,
  private_key VARBINARY(64) NOT NULL,
  current     TINYINT NULL,
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  expired_at  DATETIME(3) NULL,
  UNIQUE KEY uq_federation_keys_current (current)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Peers' verify keys as their well-known documents listed them. `expired_at` is set for keys listed as old:
-- such a key verifies only signatures created before it. `valid_until` bounds how long the entry is
-- trusted: the earlier of the document's validUntil and FEDERATION_KEY_CACHE_SECONDS (at most 7 days) after the fetch.
CREATE TABLE IF NOT EXISTS federation_peer_keys (
  domain      VARCHAR(190) NOT NULL,
  key_id      VARCHAR(64)  NOT NULL,
  public_key  VARBINARY(32) NOT NULL,
  expired_at  DATETIME(3) NULL,
  valid_until DATETIME(3) NOT NULL,
  PRIMARY KEY (domain, key_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

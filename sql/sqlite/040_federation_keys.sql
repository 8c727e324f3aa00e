-- Federation identity (as sql/040_federation_keys.sql): this deployment's ed25519 keys, `current` 1 for the
-- key in use and NULL for retired ones, and the keys fetched from peers.
CREATE TABLE IF NOT EXISTS federation_keys (
  key_id      TEXT    NOT NULL PRIMARY KEY,
  public_key  BLOB    NOT NULL,
  private_key BLOB    NOT NULL,
  current     INTEGER NULL,
  created_at  INTEGER NOT NULL,
  expired_at  INTEGER NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS uq_federation_keys_current ON federation_keys (current);

CREATE TABLE IF NOT EXISTS federation_peer_keys (
  domain      TEXT    NOT NULL,
  key_id      TEXT    NOT NULL,
  public_key  BLOB    NOT NULL,
  expired_at  INTEGER NULL,
  valid_until INTEGER NOT NULL,
  PRIMARY KEY (domain, key_id)
) STRICT, WITHOUT ROWID;

-- Keys that expire on their own in the embedded mode (token revocations, federation nonces, captcha answers,
-- login failure counts): kept on disk so that a restart does not forget a revocation or a nonce.
CREATE TABLE short_lived (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  expires_at INTEGER NOT NULL -- milliseconds since the epoch
) WITHOUT ROWID;
CREATE INDEX short_lived_expiry ON short_lived (expires_at);

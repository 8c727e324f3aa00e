-- Secrets that every instance of one deployment shares, created by the first instance that needs them
-- (`jwt`: the key that signs access tokens when JWT_SECRET is not set).
CREATE TABLE IF NOT EXISTS server_secrets (
  name       VARCHAR(64)  NOT NULL PRIMARY KEY,
  value      VARCHAR(255) NOT NULL,
  created_at DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

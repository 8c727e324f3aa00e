-- Accounts. `domain` is '' for local users; federation mirrors remote users with their server's domain.
CREATE TABLE IF NOT EXISTS users (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  username      VARCHAR(32)  NOT NULL,
  domain        VARCHAR(190) NOT NULL DEFAULT '',
  password_hash VARCHAR(255) NULL,
  nickname      VARCHAR(64)  NOT NULL,
  avatar        VARCHAR(1024) NULL,
  birth_date    DATE NULL,
  presence      ENUM('online','away','busy','invisible') NOT NULL DEFAULT 'online',
  status        ENUM('active','disabled','deleted') NOT NULL DEFAULT 'active',
  role          ENUM('user','admin') NOT NULL DEFAULT 'user',
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_users_username_domain (username, domain),
  KEY ix_users_nickname (status, nickname, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

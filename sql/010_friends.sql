-- Friend requests. `pending` is 1 while the request waits and NULL afterwards, so the unique key allows
-- one pending request per direction and any number of closed ones.
CREATE TABLE IF NOT EXISTS friend_requests (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  from_user_id  BIGINT UNSIGNED NOT NULL,
  to_user_id    BIGINT UNSIGNED NOT NULL,
  message       VARCHAR(500) NULL,
  remark        VARCHAR(64) NULL,
  status        ENUM('pending','accepted','rejected','cancelled') NOT NULL DEFAULT 'pending',
  pending       TINYINT NULL DEFAULT 1,
  reply         VARCHAR(500) NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_friend_requests_pending (from_user_id, to_user_id, pending),
  KEY ix_friend_requests_to (to_user_id, status, id),
  KEY ix_friend_requests_from (from_user_id, status, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A friendship is two rows (one per side, each with its own remark and hidden flag), always written
-- and deleted together in one transaction.
CREATE TABLE IF NOT EXISTS friendships (
  user_id    BIGINT UNSIGNED NOT NULL,
  friend_id  BIGINT UNSIGNED NOT NULL,
  remark     VARCHAR(64) NULL,
  hidden     TINYINT NOT NULL DEFAULT 0,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user_id, friend_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- `user_id` blocks `blocked_id`.
CREATE TABLE IF NOT EXISTS user_blocks (
  user_id    BIGINT UNSIGNED NOT NULL,
  blocked_id BIGINT UNSIGNED NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user_id, blocked_id),
  KEY ix_user_blocks_blocked (blocked_id, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

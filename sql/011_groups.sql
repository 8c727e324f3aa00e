-- Groups. `member_count` is changed only in the transaction that adds or removes members, after locking
-- the group row, so it never passes `max_members`.
CREATE TABLE IF NOT EXISTS chat_groups (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name         VARCHAR(64) NOT NULL,
  avatar       VARCHAR(1024) NULL,
  announcement VARCHAR(2000) NULL,
  owner_id     BIGINT UNSIGNED NOT NULL,
  max_members  INT UNSIGNED NOT NULL,
  member_count INT UNSIGNED NOT NULL DEFAULT 0,
  join_policy  ENUM('open','approval','invite') NOT NULL DEFAULT 'approval',
  muted_all    TINYINT NOT NULL DEFAULT 0,
  status       ENUM('active','dissolved') NOT NULL DEFAULT 'active',
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  CONSTRAINT ck_chat_groups_capacity CHECK (member_count <= max_members)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS group_members (
  group_id    BIGINT UNSIGNED NOT NULL,
  user_id     BIGINT UNSIGNED NOT NULL,
  role        ENUM('owner','admin','member') NOT NULL DEFAULT 'member',
  nickname    VARCHAR(64) NULL,
  muted_until DATETIME(3) NULL,
  joined_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (group_id, user_id),
  KEY ix_group_members_user (user_id, group_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS group_bans (
  group_id   BIGINT UNSIGNED NOT NULL,
  user_id    BIGINT UNSIGNED NOT NULL,
  banned_by  BIGINT UNSIGNED NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (group_id, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Join requests for `approval` groups; `pending` works as in friend_requests.
CREATE TABLE IF NOT EXISTS group_join_requests (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  group_id   BIGINT UNSIGNED NOT NULL,
  user_id    BIGINT UNSIGNED NOT NULL,
  message    VARCHAR(500) NULL,
  status     ENUM('pending','approved','rejected','cancelled') NOT NULL DEFAULT 'pending',
  pending    TINYINT NULL DEFAULT 1,
  handled_by BIGINT UNSIGNED NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_group_join_requests_pending (group_id, user_id, pending),
  KEY ix_group_join_requests_group (group_id, status, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Groups (as sql/011_groups.sql). `member_count` changes only inside the write transaction that adds or
-- removes members, so it never passes `max_members`.
CREATE TABLE IF NOT EXISTS chat_groups (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT    NOT NULL,
  avatar       TEXT    NULL,
  announcement TEXT    NULL,
  owner_id     INTEGER NOT NULL,
  max_members  INTEGER NOT NULL,
  member_count INTEGER NOT NULL DEFAULT 0,
  join_policy  TEXT    NOT NULL DEFAULT 'approval' CHECK (join_policy IN ('open', 'approval', 'invite')),
  muted_all    INTEGER NOT NULL DEFAULT 0,
  status       TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'dissolved')),
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  CONSTRAINT ck_chat_groups_capacity CHECK (member_count <= max_members)
) STRICT;

CREATE TABLE IF NOT EXISTS group_members (
  group_id    INTEGER NOT NULL,
  user_id     INTEGER NOT NULL,
  role        TEXT    NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
  nickname    TEXT    NULL,
  muted_until INTEGER NULL,
  joined_at   INTEGER NOT NULL,
  PRIMARY KEY (group_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_group_members_user ON group_members (user_id, group_id);

CREATE TABLE IF NOT EXISTS group_bans (
  group_id   INTEGER NOT NULL,
  user_id    INTEGER NOT NULL,
  banned_by  INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (group_id, user_id)
) STRICT, WITHOUT ROWID;

-- Join requests for `approval` groups; `pending` works as in friend_requests.
CREATE TABLE IF NOT EXISTS group_join_requests (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  group_id   INTEGER NOT NULL,
  user_id    INTEGER NOT NULL,
  message    TEXT    NULL,
  status     TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled')),
  pending    INTEGER NULL DEFAULT 1,
  handled_by INTEGER NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS uq_group_join_requests_pending ON group_join_requests (group_id, user_id, pending);
CREATE INDEX IF NOT EXISTS ix_group_join_requests_group ON group_join_requests (group_id, status, id);

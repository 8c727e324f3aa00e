-- Friend requests, friendships and blocks (as sql/010_friends.sql). `pending` is 1 while a request waits and
-- NULL afterwards: NULLs are distinct in a UNIQUE index, so one pending request per direction.
CREATE TABLE IF NOT EXISTS friend_requests (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  from_user_id INTEGER NOT NULL,
  to_user_id   INTEGER NOT NULL,
  message      TEXT    NULL,
  remark       TEXT    NULL,
  status       TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected', 'cancelled')),
  pending      INTEGER NULL DEFAULT 1,
  reply        TEXT    NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS uq_friend_requests_pending ON friend_requests (from_user_id, to_user_id, pending);
CREATE INDEX IF NOT EXISTS ix_friend_requests_to ON friend_requests (to_user_id, status, id);
CREATE INDEX IF NOT EXISTS ix_friend_requests_from ON friend_requests (from_user_id, status, id);

-- Two rows per friendship, one per side, written and deleted together.
CREATE TABLE IF NOT EXISTS friendships (
  user_id    INTEGER NOT NULL,
  friend_id  INTEGER NOT NULL,
  remark     TEXT    NULL,
  hidden     INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, friend_id)
) STRICT, WITHOUT ROWID;

-- `user_id` blocks `blocked_id`.
CREATE TABLE IF NOT EXISTS user_blocks (
  user_id    INTEGER NOT NULL,
  blocked_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, blocked_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_user_blocks_blocked ON user_blocks (blocked_id, user_id);

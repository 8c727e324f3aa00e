import { jsonIds, toDate, type SqliteDatabase } from '../../infra/sqlite';
import type {
  AcceptOutcome,
  FriendRequestRecord,
  FriendsStore,
  FriendshipRecord,
  SendOutcome,
} from './friends.store';

interface RequestRow {
  id: number;
  from_user_id: number;
  to_user_id: number;
  message: string | null;
  remark: string | null;
  status: FriendRequestRecord['status'];
  reply: string | null;
  created_at: number;
}

interface FriendshipRow {
  user_id: number;
  friend_id: number;
  remark: string | null;
  hidden: number;
  created_at: number;
}

const REQUEST_COLUMNS = 'id, from_user_id, to_user_id, message, remark, status, reply, created_at';
const FRIEND_COLUMNS = 'user_id, friend_id, remark, hidden, created_at';

function toRequest(r: RequestRow): FriendRequestRecord {
  return {
    id: String(r.id),
    fromUserId: String(r.from_user_id),
    toUserId: String(r.to_user_id),
    message: r.message,
    remark: r.remark,
    status: r.status,
    reply: r.reply,
    createdAt: toDate(r.created_at),
  };
}

function toFriendship(r: FriendshipRow): FriendshipRecord {
  return {
    userId: String(r.user_id),
    friendId: String(r.friend_id),
    remark: r.remark,
    hidden: Boolean(r.hidden),
    since: toDate(r.created_at),
  };
}

/**
 * Friend requests, friendships and blocks in the embedded SQLite database. Where the MySQL engine locks
 * the pair's user rows, this one runs the whole change in one IMMEDIATE transaction: SQLite has one writer
 * at a time, and better-sqlite3 runs a transaction without yielding, so nothing interleaves with it.
 */
export class SqliteFriendsStore implements FriendsStore {
  constructor(private readonly db: SqliteDatabase) {}

  private write<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

  async sendRequest(input: {
    fromUserId: string;
    toUserId: string;
    message: string | null;
    remark: string | null;
  }): Promise<SendOutcome> {
    const { fromUserId: from, toUserId: to } = input;
    return this.write((): SendOutcome => {
      if (this.friendshipExists(from, to)) return { kind: 'already_friends' };
      const blocked = this.db
        .prepare(
          'SELECT 1 FROM user_blocks WHERE (user_id = ? AND blocked_id = ?) OR (user_id = ? AND blocked_id = ?)',
        )
        .get(from, to, to, from);
      if (blocked) return { kind: 'blocked' };
      const rev = this.db
        .prepare(
          `SELECT ${REQUEST_COLUMNS} FROM friend_requests WHERE from_user_id = ? AND to_user_id = ? AND pending = 1`,
        )
        .get(to, from) as RequestRow | undefined;
      if (rev && this.markAccepted(String(rev.id))) {
        const since = this.insertFriendship(to, from, rev.remark, input.remark);
        return { kind: 'accepted_reverse', request: { ...toRequest(rev), status: 'accepted' }, since };
      }
      const own = this.db
        .prepare('SELECT id FROM friend_requests WHERE from_user_id = ? AND to_user_id = ? AND pending = 1')
        .get(from, to);
      if (own) return { kind: 'pending' };
      const now = Date.now();
      const id = this.db
        .prepare(
          `INSERT INTO friend_requests (from_user_id, to_user_id, message, remark, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(from, to, input.message, input.remark, now, now).lastInsertRowid;
      const request = this.findRequest(String(id));
      if (!request) throw new Error('friend request vanished after insert');
      return { kind: 'created', request };
    });
  }

  async acceptRequest(requestId: string, accepterId: string, remark: string | null): Promise<AcceptOutcome> {
    return this.write((): AcceptOutcome => {
      const request = this.findRequest(requestId);
      if (!request || request.toUserId !== accepterId) return { kind: 'not_found' };
      if (request.status !== 'pending') return { kind: 'not_pending', status: request.status };
      this.markAccepted(requestId);
      // Already friends through another path (a request the other way that was accepted meanwhile): the
      // request is settled and the friendship that stands is kept, as the MySQL engine does.
      const existing = this.findFriendshipRow(request.toUserId, request.fromUserId);
      const since = existing
        ? toDate(existing.created_at)
        : this.insertFriendship(request.fromUserId, request.toUserId, request.remark, remark);
      return { kind: 'accepted', request: { ...request, status: 'accepted' }, since };
    });
  }

  async rejectRequest(requestId: string, userId: string, reply: string | null) {
    return this.write(() => {
      const request = this.findRequest(requestId);
      if (!request || request.toUserId !== userId) return { kind: 'not_found' as const };
      const res = this.db
        .prepare(
          "UPDATE friend_requests SET status = 'rejected', pending = NULL, reply = ?, updated_at = ? WHERE id = ? AND pending = 1",
        )
        .run(reply, Date.now(), requestId);
      if (res.changes === 0) return { kind: 'not_pending' as const };
      return { kind: 'rejected' as const, request: { ...request, status: 'rejected' as const, reply } };
    });
  }

  async listPendingRequests(
    userId: string,
    direction: 'incoming' | 'outgoing',
    beforeId: string | null,
    limit: number,
  ): Promise<FriendRequestRecord[]> {
    const column = direction === 'incoming' ? 'to_user_id' : 'from_user_id';
    const rows = this.db
      .prepare(
        `SELECT ${REQUEST_COLUMNS} FROM friend_requests
          WHERE ${column} = ? AND status = 'pending' ${beforeId ? 'AND id < ?' : ''}
          ORDER BY id DESC LIMIT ?`,
      )
      .all(...(beforeId ? [userId, beforeId, limit] : [userId, limit])) as RequestRow[];
    return rows.map(toRequest);
  }

  async listFriends(
    userId: string,
    includeHidden: boolean,
    afterId: string | null,
    limit: number,
  ): Promise<FriendshipRecord[]> {
    const rows = this.db
      .prepare(
        `SELECT ${FRIEND_COLUMNS} FROM friendships
          WHERE user_id = ? ${includeHidden ? '' : 'AND hidden = 0'} ${afterId ? 'AND friend_id > ?' : ''}
          ORDER BY friend_id LIMIT ?`,
      )
      .all(...(afterId ? [userId, afterId, limit] : [userId, limit])) as FriendshipRow[];
    return rows.map(toFriendship);
  }

  async findFriendship(userId: string, friendId: string): Promise<FriendshipRecord | null> {
    const r = this.findFriendshipRow(userId, friendId);
    return r ? toFriendship(r) : null;
  }

  async updateFriendship(
    userId: string,
    friendId: string,
    changes: { remark?: string | null; hidden?: boolean },
  ): Promise<FriendshipRecord | null> {
    const sets: string[] = [];
    const values: Array<string | number | null> = [];
    if (changes.remark !== undefined) {
      sets.push('remark = ?');
      values.push(changes.remark);
    }
    if (changes.hidden !== undefined) {
      sets.push('hidden = ?');
      values.push(changes.hidden ? 1 : 0);
    }
    if (sets.length) {
      this.db
        .prepare(`UPDATE friendships SET ${sets.join(', ')} WHERE user_id = ? AND friend_id = ?`)
        .run(...values, userId, friendId);
    }
    return this.findFriendship(userId, friendId);
  }

  async deleteFriendship(userId: string, friendId: string): Promise<boolean> {
    const res = this.db
      .prepare(
        'DELETE FROM friendships WHERE (user_id = ? AND friend_id = ?) OR (user_id = ? AND friend_id = ?)',
      )
      .run(userId, friendId, friendId, userId);
    return res.changes > 0;
  }

  async friendIds(userId: string, exceptBlocked = false): Promise<string[]> {
    const rows = this.db
      .prepare(
        `SELECT f.friend_id FROM friendships f WHERE f.user_id = ?${
          exceptBlocked
            ? ' AND NOT EXISTS (SELECT 1 FROM user_blocks b WHERE b.user_id = f.user_id AND b.blocked_id = f.friend_id)'
            : ''
        }`,
      )
      .all(userId) as Array<{ friend_id: number }>;
    return rows.map((r) => String(r.friend_id));
  }

  async friendsAmong(userId: string, candidateIds: string[]): Promise<Set<string>> {
    if (!candidateIds.length) return new Set();
    const rows = this.db
      .prepare(
        'SELECT friend_id FROM friendships WHERE user_id = ? AND friend_id IN (SELECT value FROM json_each(?))',
      )
      .all(userId, jsonIds(candidateIds)) as Array<{ friend_id: number }>;
    return new Set(rows.map((r) => String(r.friend_id)));
  }

  async block(userId: string, blockedId: string): Promise<void> {
    this.write(() => {
      const now = Date.now();
      this.db
        .prepare('INSERT OR IGNORE INTO user_blocks (user_id, blocked_id, created_at) VALUES (?, ?, ?)')
        .run(userId, blockedId, now);
      this.db
        .prepare(
          `UPDATE friend_requests SET status = 'cancelled', pending = NULL, updated_at = ?
            WHERE pending = 1 AND ((from_user_id = ? AND to_user_id = ?) OR (from_user_id = ? AND to_user_id = ?))`,
        )
        .run(now, userId, blockedId, blockedId, userId);
    });
  }

  async unblock(userId: string, blockedId: string): Promise<void> {
    this.db.prepare('DELETE FROM user_blocks WHERE user_id = ? AND blocked_id = ?').run(userId, blockedId);
  }

  async listBlocked(userId: string, afterId: string | null, limit: number): Promise<string[]> {
    const rows = this.db
      .prepare(
        `SELECT blocked_id FROM user_blocks WHERE user_id = ? ${afterId ? 'AND blocked_id > ?' : ''}
          ORDER BY blocked_id LIMIT ?`,
      )
      .all(...(afterId ? [userId, afterId, limit] : [userId, limit])) as Array<{ blocked_id: number }>;
    return rows.map((r) => String(r.blocked_id));
  }

  async blockedIds(userId: string): Promise<string[]> {
    const rows = this.db
      .prepare('SELECT blocked_id FROM user_blocks WHERE user_id = ?')
      .all(userId) as Array<{
      blocked_id: number;
    }>;
    return rows.map((r) => String(r.blocked_id));
  }

  async blockersAmong(userId: string, candidateIds: string[]): Promise<Set<string>> {
    if (!candidateIds.length) return new Set();
    const rows = this.db
      .prepare(
        'SELECT user_id FROM user_blocks WHERE blocked_id = ? AND user_id IN (SELECT value FROM json_each(?))',
      )
      .all(userId, jsonIds(candidateIds)) as Array<{ user_id: number }>;
    return new Set(rows.map((r) => String(r.user_id)));
  }

  async pairRelation(low: string, high: string) {
    const r = this.db
      .prepare(
        `SELECT
           EXISTS(SELECT 1 FROM friendships WHERE user_id = ? AND friend_id = ?) AS friends,
           EXISTS(SELECT 1 FROM user_blocks WHERE user_id = ? AND blocked_id = ?) AS low_blocks,
           EXISTS(SELECT 1 FROM user_blocks WHERE user_id = ? AND blocked_id = ?) AS high_blocks`,
      )
      .get(low, high, low, high, high, low) as { friends: number; low_blocks: number; high_blocks: number };
    return {
      friends: r.friends === 1,
      lowBlocksHigh: r.low_blocks === 1,
      highBlocksLow: r.high_blocks === 1,
    };
  }

  private friendshipExists(a: string, b: string): boolean {
    return Boolean(
      this.db.prepare('SELECT 1 FROM friendships WHERE user_id = ? AND friend_id = ?').get(a, b),
    );
  }

  private findFriendshipRow(userId: string, friendId: string): FriendshipRow | undefined {
    return this.db
      .prepare(`SELECT ${FRIEND_COLUMNS} FROM friendships WHERE user_id = ? AND friend_id = ?`)
      .get(userId, friendId) as FriendshipRow | undefined;
  }

  /** Settles a pending request as accepted; false when it was no longer pending. */
  private markAccepted(requestId: string): boolean {
    return (
      this.db
        .prepare(
          "UPDATE friend_requests SET status = 'accepted', pending = NULL, updated_at = ? WHERE id = ? AND pending = 1",
        )
        .run(Date.now(), requestId).changes > 0
    );
  }

  /** Writes both rows of a friendship; returns its start time. */
  private insertFriendship(
    requesterId: string,
    accepterId: string,
    requesterRemark: string | null,
    accepterRemark: string | null,
  ): Date {
    const since = Date.now();
    this.db
      .prepare(
        'INSERT INTO friendships (user_id, friend_id, remark, created_at) VALUES (?, ?, ?, ?), (?, ?, ?, ?)',
      )
      .run(requesterId, accepterId, requesterRemark, since, accepterId, requesterId, accepterRemark, since);
    return toDate(since);
  }

  private findRequest(id: string): FriendRequestRecord | null {
    const r = this.db.prepare(`SELECT ${REQUEST_COLUMNS} FROM friend_requests WHERE id = ?`).get(id) as
      RequestRow | undefined;
    return r ? toRequest(r) : null;
  }
}

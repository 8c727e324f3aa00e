import { isDuplicateKey, type Pool, type PoolConnection } from '../../infra/mysql';
import { readCommittedTransaction as withTransaction } from '../../infra/mysql.retry';
import type {
  AcceptOutcome,
  FriendRequestRecord,
  FriendsStore,
  FriendshipRecord,
  SendOutcome,
} from './friends.store';

interface RequestRow {
  id: string | number;
  from_user_id: string | number;
  to_user_id: string | number;
  message: string | null;
  remark: string | null;
  status: FriendRequestRecord['status'];
  reply: string | null;
  created_at: Date;
}

interface FriendshipRow {
  user_id: string | number;
  friend_id: string | number;
  remark: string | null;
  hidden: number;
  created_at: Date;
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
    createdAt: r.created_at,
  };
}

function toFriendship(r: FriendshipRow): FriendshipRecord {
  return {
    userId: String(r.user_id),
    friendId: String(r.friend_id),
    remark: r.remark,
    hidden: Boolean(r.hidden),
    since: r.created_at,
  };
}

class DuplicateFriendship extends Error {}

/** Friend requests, friendships and blocks in MySQL. */
export class MysqlFriendsStore implements FriendsStore {
  constructor(private readonly pool: Pool) {}

  async sendRequest(input: {
    fromUserId: string;
    toUserId: string;
    message: string | null;
    remark: string | null;
  }): Promise<SendOutcome> {
    const { fromUserId: from, toUserId: to } = input;
    try {
      return await withTransaction(this.pool, async (conn) => {
        await lockPair(conn, from, to);
        if (await friendshipExists(conn, from, to)) return { kind: 'already_friends' };
        const [blocks] = await conn.query(
          'SELECT 1 FROM user_blocks WHERE (user_id = ? AND blocked_id = ?) OR (user_id = ? AND blocked_id = ?)',
          [from, to, to, from],
        );
        if ((blocks as unknown[]).length) return { kind: 'blocked' };
        const [reverse] = await conn.query(
          `SELECT ${REQUEST_COLUMNS} FROM friend_requests WHERE from_user_id = ? AND to_user_id = ? AND pending = 1`,
          [to, from],
        );
        const rev = (reverse as RequestRow[])[0];
        // Rejecting does not take the pair lock, so the request is settled only if it is still pending.
        if (rev && (await markAccepted(conn, String(rev.id)))) {
          const since = await insertFriendship(conn, to, from, rev.remark, input.remark);
          return { kind: 'accepted_reverse', request: { ...toRequest(rev), status: 'accepted' }, since };
        }
        const [own] = await conn.query(
          'SELECT id FROM friend_requests WHERE from_user_id = ? AND to_user_id = ? AND pending = 1',
          [from, to],
        );
        if ((own as unknown[]).length) return { kind: 'pending' };
        const [res] = await conn.query(
          'INSERT INTO friend_requests (from_user_id, to_user_id, message, remark) VALUES (?, ?, ?, ?)',
          [from, to, input.message, input.remark],
        );
        const id = String((res as { insertId: number | string }).insertId);
        const request = await findRequest(conn, id);
        if (!request) throw new Error('friend request vanished after insert');
        return { kind: 'created', request };
      });
    } catch (err) {
      if (err instanceof DuplicateFriendship) return { kind: 'already_friends' };
      if (isDuplicateKey(err)) return { kind: 'pending' };
      throw err;
    }
  }

  async acceptRequest(requestId: string, accepterId: string, remark: string | null): Promise<AcceptOutcome> {
    const first = await findRequest(this.pool, requestId);
    if (!first || first.toUserId !== accepterId) return { kind: 'not_found' };
    try {
      return await withTransaction(this.pool, async (conn): Promise<AcceptOutcome> => {
        await lockPair(conn, first.fromUserId, first.toUserId);
        const [rows] = await conn.query(
          `SELECT ${REQUEST_COLUMNS} FROM friend_requests WHERE id = ? FOR UPDATE`,
          [requestId],
        );
        const row = (rows as RequestRow[])[0];
        if (!row) return { kind: 'not_found' };
        const request = toRequest(row);
        if (request.status !== 'pending') return { kind: 'not_pending', status: request.status };
        await markAccepted(conn, requestId);
        const since = await insertFriendship(
          conn,
          request.fromUserId,
          request.toUserId,
          request.remark,
          remark,
        );
        return { kind: 'accepted', request: { ...request, status: 'accepted' }, since };
      });
    } catch (err) {
      // Already friends through another path: the request is settled, the friendship stands.
      if (err instanceof DuplicateFriendship) {
        await this.pool.query(
          "UPDATE friend_requests SET status = 'accepted', pending = NULL WHERE id = ? AND pending = 1",
          [requestId],
        );
        const since = (await this.findFriendship(first.toUserId, first.fromUserId))?.since ?? new Date();
        return { kind: 'accepted', request: { ...first, status: 'accepted' }, since };
      }
      throw err;
    }
  }

  async rejectRequest(requestId: string, userId: string, reply: string | null) {
    const request = await findRequest(this.pool, requestId);
    if (!request || request.toUserId !== userId) return { kind: 'not_found' as const };
    const [res] = await this.pool.query(
      "UPDATE friend_requests SET status = 'rejected', pending = NULL, reply = ? WHERE id = ? AND pending = 1",
      [reply, requestId],
    );
    if ((res as { affectedRows: number }).affectedRows === 0) return { kind: 'not_pending' as const };
    return { kind: 'rejected' as const, request: { ...request, status: 'rejected' as const, reply } };
  }

  async listPendingRequests(
    userId: string,
    direction: 'incoming' | 'outgoing',
    beforeId: string | null,
    limit: number,
  ): Promise<FriendRequestRecord[]> {
    const column = direction === 'incoming' ? 'to_user_id' : 'from_user_id';
    const [rows] = await this.pool.query(
      `SELECT ${REQUEST_COLUMNS} FROM friend_requests
        WHERE ${column} = ? AND status = 'pending' ${beforeId ? 'AND id < ?' : ''}
        ORDER BY id DESC LIMIT ?`,
      beforeId ? [userId, beforeId, limit] : [userId, limit],
    );
    return (rows as RequestRow[]).map(toRequest);
  }

  async listFriends(
    userId: string,
    includeHidden: boolean,
    afterId: string | null,
    limit: number,
  ): Promise<FriendshipRecord[]> {
    const [rows] = await this.pool.query(
      `SELECT ${FRIEND_COLUMNS} FROM friendships
        WHERE user_id = ? ${includeHidden ? '' : 'AND hidden = 0'} ${afterId ? 'AND friend_id > ?' : ''}
        ORDER BY friend_id LIMIT ?`,
      afterId ? [userId, afterId, limit] : [userId, limit],
    );
    return (rows as FriendshipRow[]).map(toFriendship);
  }

  async findFriendship(userId: string, friendId: string): Promise<FriendshipRecord | null> {
    const [rows] = await this.pool.query(
      `SELECT ${FRIEND_COLUMNS} FROM friendships WHERE user_id = ? AND friend_id = ?`,
      [userId, friendId],
    );
    const r = (rows as FriendshipRow[])[0];
    return r ? toFriendship(r) : null;
  }

  async updateFriendship(
    userId: string,
    friendId: string,
    changes: { remark?: string | null; hidden?: boolean },
  ): Promise<FriendshipRecord | null> {
    const sets: string[] = [];
    const values: unknown[] = [];
    if (changes.remark !== undefined) {
      sets.push('remark = ?');
      values.push(changes.remark);
    }
    if (changes.hidden !== undefined) {
      sets.push('hidden = ?');
      values.push(changes.hidden ? 1 : 0);
    }
    if (sets.length) {
      await this.pool.query(`UPDATE friendships SET ${sets.join(', ')} WHERE user_id = ? AND friend_id = ?`, [
        ...values,
        userId,
        friendId,
      ]);
    }
    return this.findFriendship(userId, friendId);
  }

  async deleteFriendship(userId: string, friendId: string): Promise<boolean> {
    return withTransaction(this.pool, async (conn) => {
      const [res] = await conn.query(
        'DELETE FROM friendships WHERE (user_id = ? AND friend_id = ?) OR (user_id = ? AND friend_id = ?)',
        [userId, friendId, friendId, userId],
      );
      return (res as { affectedRows: number }).affectedRows > 0;
    });
  }

  async friendIds(userId: string, exceptBlocked = false): Promise<string[]> {
    const [rows] = await this.pool.query(
      `SELECT f.friend_id FROM friendships f WHERE f.user_id = ?${
        exceptBlocked
          ? ' AND NOT EXISTS (SELECT 1 FROM user_blocks b WHERE b.user_id = f.user_id AND b.blocked_id = f.friend_id)'
          : ''
      }`,
      [userId],
    );
    return (rows as Array<{ friend_id: string | number }>).map((r) => String(r.friend_id));
  }

  async friendsAmong(userId: string, candidateIds: string[]): Promise<Set<string>> {
    if (!candidateIds.length) return new Set();
    const [rows] = await this.pool.query(
      'SELECT friend_id FROM friendships WHERE user_id = ? AND friend_id IN (?)',
      [userId, candidateIds],
    );
    return new Set((rows as Array<{ friend_id: string | number }>).map((r) => String(r.friend_id)));
  }

  async block(userId: string, blockedId: string): Promise<void> {
    await withTransaction(this.pool, async (conn) => {
      await lockPair(conn, userId, blockedId);
      await conn.query('INSERT IGNORE INTO user_blocks (user_id, blocked_id) VALUES (?, ?)', [
        userId,
        blockedId,
      ]);
      await conn.query(
        `UPDATE friend_requests SET status = 'cancelled', pending = NULL
          WHERE pending = 1 AND ((from_user_id = ? AND to_user_id = ?) OR (from_user_id = ? AND to_user_id = ?))`,
        [userId, blockedId, blockedId, userId],
      );
    });
  }

  async unblock(userId: string, blockedId: string): Promise<void> {
    await this.pool.query('DELETE FROM user_blocks WHERE user_id = ? AND blocked_id = ?', [
      userId,
      blockedId,
    ]);
  }

  async listBlocked(userId: string, afterId: string | null, limit: number): Promise<string[]> {
    const [rows] = await this.pool.query(
      `SELECT blocked_id FROM user_blocks WHERE user_id = ? ${afterId ? 'AND blocked_id > ?' : ''}
        ORDER BY blocked_id LIMIT ?`,
      afterId ? [userId, afterId, limit] : [userId, limit],
    );
    return (rows as Array<{ blocked_id: string | number }>).map((r) => String(r.blocked_id));
  }

  async blockedIds(userId: string): Promise<string[]> {
    const [rows] = await this.pool.query('SELECT blocked_id FROM user_blocks WHERE user_id = ?', [userId]);
    return (rows as Array<{ blocked_id: string | number }>).map((r) => String(r.blocked_id));
  }

  async blockersAmong(userId: string, candidateIds: string[]): Promise<Set<string>> {
    if (!candidateIds.length) return new Set();
    // A range of ix_user_blocks_blocked (blocked_id, user_id).
    const [rows] = await this.pool.query(
      'SELECT user_id FROM user_blocks WHERE blocked_id = ? AND user_id IN (?)',
      [userId, candidateIds],
    );
    return new Set((rows as Array<{ user_id: string | number }>).map((r) => String(r.user_id)));
  }

  async pairRelation(low: string, high: string) {
    const [rows] = await this.pool.query(
      `SELECT
         EXISTS(SELECT 1 FROM friendships WHERE user_id = ? AND friend_id = ?) AS friends,
         EXISTS(SELECT 1 FROM user_blocks WHERE user_id = ? AND blocked_id = ?) AS low_blocks,
         EXISTS(SELECT 1 FROM user_blocks WHERE user_id = ? AND blocked_id = ?) AS high_blocks`,
      [low, high, low, high, high, low],
    );
    const r = (
      rows as Array<{ friends: number | string; low_blocks: number | string; high_blocks: number | string }>
    )[0];
    return {
      friends: Number(r.friends) === 1,
      lowBlocksHigh: Number(r.low_blocks) === 1,
      highBlocksLow: Number(r.high_blocks) === 1,
    };
  }
}

/** Locks both users' rows in id order, so every change to one pair runs one at a time without deadlocks. */
async function lockPair(conn: PoolConnection, a: string, b: string): Promise<void> {
  await conn.query('SELECT id FROM users WHERE id IN (?, ?) ORDER BY id FOR UPDATE', [a, b]);
}

async function friendshipExists(conn: PoolConnection, a: string, b: string): Promise<boolean> {
  const [rows] = await conn.query('SELECT 1 FROM friendships WHERE user_id = ? AND friend_id = ?', [a, b]);
  return (rows as unknown[]).length > 0;
}

/** Settles a pending request as accepted; false when it was no longer pending. */
async function markAccepted(conn: PoolConnection, requestId: string): Promise<boolean> {
  const [res] = await conn.query(
    "UPDATE friend_requests SET status = 'accepted', pending = NULL WHERE id = ? AND pending = 1",
    [requestId],
  );
  return (res as { affectedRows: number }).affectedRows > 0;
}

/** Writes both rows of a friendship; returns its start time. */
async function insertFriendship(
  conn: PoolConnection,
  requesterId: string,
  accepterId: string,
  requesterRemark: string | null,
  accepterRemark: string | null,
): Promise<Date> {
  const since = new Date();
  try {
    await conn.query(
      'INSERT INTO friendships (user_id, friend_id, remark, created_at) VALUES (?, ?, ?, ?), (?, ?, ?, ?)',
      [requesterId, accepterId, requesterRemark, since, accepterId, requesterId, accepterRemark, since],
    );
  } catch (err) {
    if (isDuplicateKey(err)) throw new DuplicateFriendship('already friends', { cause: err });
    throw err;
  }
  return since;
}

async function findRequest(db: Pool | PoolConnection, id: string): Promise<FriendRequestRecord | null> {
  const [rows] = await db.query(`SELECT ${REQUEST_COLUMNS} FROM friend_requests WHERE id = ?`, [id]);
  const r = (rows as RequestRow[])[0];
  return r ? toRequest(r) : null;
}

import { isDuplicateKey, type Pool, type PoolConnection } from '../../infra/mysql';
import { readCommittedTransaction as withTransaction } from '../../infra/mysql.retry';
import type { GroupRole, GroupSnapshot } from './groups.ports';
import type {
  AddOutcome,
  GroupChanges,
  GroupRecord,
  GroupsStore,
  JoinPolicy,
  JoinRequestRecord,
  MemberRecord,
  MembershipGuard,
} from './groups.store';

type Db = Pool | PoolConnection;

interface GroupRow {
  id: string | number;
  name: string;
  avatar: string | null;
  announcement: string | null;
  owner_id: string | number;
  max_members: number;
  member_count: number;
  join_policy: JoinPolicy;
  muted_all: number;
  created_at: Date;
}

interface MemberRow {
  group_id: string | number;
  user_id: string | number;
  role: GroupRole;
  nickname: string | null;
  muted_until: Date | null;
  joined_at: Date;
}

interface JoinRequestRow {
  id: string | number;
  group_id: string | number;
  user_id: string | number;
  message: string | null;
  status: JoinRequestRecord['status'];
  created_at: Date;
}

const GROUP_COLUMNS =
  'g.id, g.name, g.avatar, g.announcement, g.owner_id, g.max_members, g.member_count, g.join_policy, g.muted_all, g.created_at';
const MEMBER_COLUMNS = 'group_id, user_id, role, nickname, muted_until, joined_at';
const REQUEST_COLUMNS = 'id, group_id, user_id, message, status, created_at';

function toGroup(r: GroupRow): GroupRecord {
  return {
    id: String(r.id),
    name: r.name,
    avatar: r.avatar,
    announcement: r.announcement,
    ownerId: String(r.owner_id),
    maxMembers: Number(r.max_members),
    memberCount: Number(r.member_count),
    joinPolicy: r.join_policy,
    mutedAll: Boolean(r.muted_all),
    createdAt: r.created_at,
  };
}

function toMember(r: MemberRow): MemberRecord {
  return {
    groupId: String(r.group_id),
    userId: String(r.user_id),
    role: r.role,
    nickname: r.nickname,
    mutedUntil: r.muted_until,
    joinedAt: r.joined_at,
  };
}

function toRequest(r: JoinRequestRow): JoinRequestRecord {
  return {
    id: String(r.id),
    groupId: String(r.group_id),
    userId: String(r.user_id),
    message: r.message,
    status: r.status,
    createdAt: r.created_at,
  };
}

function affected(res: unknown): number {
  return (res as { affectedRows: number }).affectedRows;
}

/** Groups in MySQL. */
export class MysqlGroupsStore implements GroupsStore {
  constructor(private readonly pool: Pool) {}

  async createGroup(input: {
    name: string;
    avatar: string | null;
    ownerId: string;
    maxMembers: number;
    joinPolicy: JoinPolicy;
    memberIds: string[];
  }): Promise<GroupRecord> {
    return withTransaction(this.pool, async (conn) => {
      const [res] = await conn.query(
        `INSERT INTO chat_groups (name, avatar, owner_id, max_members, member_count, join_policy)
         VALUES (?, ?, ?, ?, ?, ?)`,
        [
          input.name,
          input.avatar,
          input.ownerId,
          input.maxMembers,
          1 + input.memberIds.length,
          input.joinPolicy,
        ],
      );
      const id = String((res as { insertId: number | string }).insertId);
      const now = new Date();
      const rows: unknown[][] = [[id, input.ownerId, 'owner', now]];
      for (const userId of input.memberIds) rows.push([id, userId, 'member', now]);
      await conn.query('INSERT INTO group_members (group_id, user_id, role, joined_at) VALUES ?', [rows]);
      const group = await findGroup(conn, id, false);
      if (!group) throw new Error('group vanished after insert');
      return group;
    });
  }

  async findGroup(groupId: string): Promise<GroupRecord | null> {
    return findGroup(this.pool, groupId, false);
  }

  async findGroups(groupIds: string[]): Promise<GroupRecord[]> {
    if (!groupIds.length) return [];
    const [rows] = await this.pool.query(
      `SELECT ${GROUP_COLUMNS} FROM chat_groups g WHERE g.id IN (?) AND g.status = 'active'`,
      [groupIds],
    );
    return (rows as GroupRow[]).map(toGroup);
  }

  async groupIdsOf(userId: string): Promise<string[]> {
    const [rows] = await this.pool.query(
      `SELECT m.group_id FROM group_members m JOIN chat_groups g ON g.id = m.group_id
        WHERE m.user_id = ? AND g.status = 'active' ORDER BY m.group_id`,
      [userId],
    );
    return (rows as Array<{ group_id: string | number }>).map((r) => String(r.group_id));
  }

  async findMember(groupId: string, userId: string): Promise<MemberRecord | null> {
    return findMember(this.pool, groupId, userId);
  }

  async isBanned(groupId: string, userId: string): Promise<boolean> {
    return isBanned(this.pool, groupId, userId);
  }

  async listGroupsOf(userId: string, afterId: string | null, limit: number): Promise<GroupRecord[]> {
    const [rows] = await this.pool.query(
      `SELECT ${GROUP_COLUMNS} FROM group_members m JOIN chat_groups g ON g.id = m.group_id
        WHERE m.user_id = ? AND g.status = 'active' ${afterId ? 'AND m.group_id > ?' : ''}
        ORDER BY m.group_id LIMIT ?`,
      afterId ? [userId, afterId, limit] : [userId, limit],
    );
    return (rows as GroupRow[]).map(toGroup);
  }

  async listMembers(groupId: string, afterUserId: string | null, limit: number): Promise<MemberRecord[]> {
    const [rows] = await this.pool.query(
      `SELECT ${MEMBER_COLUMNS} FROM group_members WHERE group_id = ? ${afterUserId ? 'AND user_id > ?' : ''}
        ORDER BY user_id LIMIT ?`,
      afterUserId ? [groupId, afterUserId, limit] : [groupId, limit],
    );
    return (rows as MemberRow[]).map(toMember);
  }

  async memberIds(groupId: string, roles?: GroupRole[]): Promise<string[]> {
    const [rows] = await this.pool.query(
      `SELECT user_id FROM group_members WHERE group_id = ? ${roles ? 'AND role IN (?)' : ''}`,
      roles ? [groupId, roles] : [groupId],
    );
    return (rows as Array<{ user_id: string | number }>).map((r) => String(r.user_id));
  }

  async updateGroup(groupId: string, changes: GroupChanges) {
    return withTransaction(this.pool, async (conn) => {
      const group = await findGroup(conn, groupId, true);
      if (!group) return { kind: 'not_found' as const };
      if (changes.maxMembers !== undefined && changes.maxMembers < group.memberCount) {
        return { kind: 'below_count' as const };
      }
      const columns: Record<keyof GroupChanges, string> = {
        name: 'name',
        avatar: 'avatar',
        announcement: 'announcement',
        joinPolicy: 'join_policy',
        maxMembers: 'max_members',
      };
      const sets: string[] = [];
      const values: unknown[] = [];
      for (const [field, column] of Object.entries(columns) as Array<[keyof GroupChanges, string]>) {
        // Only what differs from the locked row is written, so `changed` says whether anything did.
        if (changes[field] === undefined || changes[field] === group[field]) continue;
        sets.push(`${column} = ?`);
        values.push(changes[field]);
      }
      if (sets.length)
        await conn.query(`UPDATE chat_groups SET ${sets.join(', ')} WHERE id = ?`, [...values, groupId]);
      const updated = await findGroup(conn, groupId, false);
      return { kind: 'ok' as const, group: updated!, changed: sets.length > 0 };
    });
  }

  async setMutedAll(groupId: string, mutedAll: boolean): Promise<GroupRecord | null> {
    await this.pool.query("UPDATE chat_groups SET muted_all = ? WHERE id = ? AND status = 'active'", [
      mutedAll ? 1 : 0,
      groupId,
    ]);
    return this.findGroup(groupId);
  }

  async dissolve(groupId: string, guard?: MembershipGuard): Promise<string[] | null> {
    return withTransaction(this.pool, async (conn) => {
      const group = await findGroup(conn, groupId, true);
      if (!group) return null;
      if (guard) await checkGuard(conn, groupId, guard.actorId, guard);
      const [rows] = await conn.query('SELECT user_id FROM group_members WHERE group_id = ?', [groupId]);
      await conn.query('DELETE FROM group_members WHERE group_id = ?', [groupId]);
      await conn.query(
        "UPDATE group_join_requests SET status = 'cancelled', pending = NULL WHERE group_id = ? AND pending = 1",
        [groupId],
      );
      await conn.query("UPDATE chat_groups SET status = 'dissolved', member_count = 0 WHERE id = ?", [
        groupId,
      ]);
      return (rows as Array<{ user_id: string | number }>).map((r) => String(r.user_id));
    });
  }

  async addMembers(groupId: string, userIds: string[]): Promise<AddOutcome> {
    return withTransaction(this.pool, async (conn): Promise<AddOutcome> => {
      const group = await findGroup(conn, groupId, true);
      if (!group) return { kind: 'not_found' };
      const wanted = [...new Set(userIds)];
      if (!wanted.length) return { kind: 'added', added: [], banned: [], existing: [] };
      const [bannedRows] = await conn.query(
        'SELECT user_id FROM group_bans WHERE group_id = ? AND user_id IN (?)',
        [groupId, wanted],
      );
      const banned = (bannedRows as Array<{ user_id: string | number }>).map((r) => String(r.user_id));
      const [memberRows] = await conn.query(
        'SELECT user_id FROM group_members WHERE group_id = ? AND user_id IN (?)',
        [groupId, wanted],
      );
      const existing = (memberRows as Array<{ user_id: string | number }>).map((r) => String(r.user_id));
      const skip = new Set([...banned, ...existing]);
      const toAdd = wanted.filter((id) => !skip.has(id));
      if (!toAdd.length) return { kind: 'added', added: [], banned, existing };
      // The row is locked above; the guarded update still refuses to pass the limit on its own.
      const [res] = await conn.query(
        'UPDATE chat_groups SET member_count = member_count + ? WHERE id = ? AND member_count + ? <= max_members',
        [toAdd.length, groupId, toAdd.length],
      );
      if (affected(res) === 0)
        return { kind: 'full', room: Math.max(0, group.maxMembers - group.memberCount) };
      const now = new Date();
      await conn.query('INSERT INTO group_members (group_id, user_id, role, joined_at) VALUES ?', [
        toAdd.map((userId) => [groupId, userId, 'member', now]),
      ]);
      await conn.query(
        `UPDATE group_join_requests SET status = 'approved', pending = NULL
          WHERE group_id = ? AND user_id IN (?) AND pending = 1`,
        [groupId, toAdd],
      );
      const [added] = await conn.query(
        `SELECT ${MEMBER_COLUMNS} FROM group_members WHERE group_id = ? AND user_id IN (?) ORDER BY user_id`,
        [groupId, toAdd],
      );
      return { kind: 'added', added: (added as MemberRow[]).map(toMember), banned, existing };
    });
  }

  async removeMember(
    groupId: string,
    userId: string,
    ban: { by: string } | null,
    guard?: MembershipGuard,
  ): Promise<boolean> {
    return withTransaction(this.pool, async (conn) => {
      const group = await findGroup(conn, groupId, true);
      if (!group) return false;
      if (guard) await checkGuard(conn, groupId, userId, guard);
      const [res] = await conn.query('DELETE FROM group_members WHERE group_id = ? AND user_id = ?', [
        groupId,
        userId,
      ]);
      const removed = affected(res) > 0;
      if (removed)
        await conn.query('UPDATE chat_groups SET member_count = member_count - 1 WHERE id = ?', [groupId]);
      if (ban) {
        await conn.query('INSERT IGNORE INTO group_bans (group_id, user_id, banned_by) VALUES (?, ?, ?)', [
          groupId,
          userId,
          ban.by,
        ]);
        await conn.query(
          `UPDATE group_join_requests SET status = 'rejected', pending = NULL, handled_by = ?
            WHERE group_id = ? AND user_id = ? AND pending = 1`,
          [ban.by, groupId, userId],
        );
      }
      return removed;
    });
  }

  async updateMember(
    groupId: string,
    userId: string,
    changes: { role?: GroupRole; nickname?: string | null; mutedUntil?: Date | null },
    guard?: MembershipGuard,
  ): Promise<MemberRecord | null> {
    const sets: string[] = [];
    const values: unknown[] = [];
    if (changes.role !== undefined) {
      sets.push('role = ?');
      values.push(changes.role);
    }
    if (changes.nickname !== undefined) {
      sets.push('nickname = ?');
      values.push(changes.nickname);
    }
    if (changes.mutedUntil !== undefined) {
      sets.push('muted_until = ?');
      values.push(changes.mutedUntil);
    }
    return withTransaction(this.pool, async (conn) => {
      // Under the group lock, like every other membership change, so a role change and a transfer never
      // interleave (which could leave the group without a member whose role is owner).
      if (!(await findGroup(conn, groupId, true))) return null;
      if (guard) await checkGuard(conn, groupId, userId, guard);
      if (sets.length) {
        await conn.query(`UPDATE group_members SET ${sets.join(', ')} WHERE group_id = ? AND user_id = ?`, [
          ...values,
          groupId,
          userId,
        ]);
      }
      return findMember(conn, groupId, userId);
    });
  }

  async transfer(groupId: string, fromUserId: string, toUserId: string): Promise<boolean> {
    return withTransaction(this.pool, async (conn) => {
      const group = await findGroup(conn, groupId, true);
      if (!group || group.ownerId !== fromUserId) return false;
      const from = await findMember(conn, groupId, fromUserId);
      const target = await findMember(conn, groupId, toUserId);
      if (from?.role !== 'owner' || !target) return false;
      await conn.query("UPDATE group_members SET role = 'admin' WHERE group_id = ? AND user_id = ?", [
        groupId,
        fromUserId,
      ]);
      await conn.query(
        "UPDATE group_members SET role = 'owner', muted_until = NULL WHERE group_id = ? AND user_id = ?",
        [groupId, toUserId],
      );
      await conn.query('UPDATE chat_groups SET owner_id = ? WHERE id = ?', [toUserId, groupId]);
      return true;
    });
  }

  async createJoinRequest(
    groupId: string,
    userId: string,
    message: string | null,
  ): Promise<JoinRequestRecord> {
    try {
      const [res] = await this.pool.query(
        'INSERT INTO group_join_requests (group_id, user_id, message) VALUES (?, ?, ?)',
        [groupId, userId, message],
      );
      const id = String((res as { insertId: number | string }).insertId);
      return (await findRequest(this.pool, groupId, id, false))!;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const [rows] = await this.pool.query(
        `SELECT ${REQUEST_COLUMNS} FROM group_join_requests WHERE group_id = ? AND user_id = ? AND pending = 1`,
        [groupId, userId],
      );
      const existing = (rows as JoinRequestRow[])[0];
      if (!existing) throw err;
      return toRequest(existing);
    }
  }

  async listJoinRequests(
    groupId: string,
    afterId: string | null,
    limit: number,
  ): Promise<JoinRequestRecord[]> {
    const [rows] = await this.pool.query(
      `SELECT ${REQUEST_COLUMNS} FROM group_join_requests
        WHERE group_id = ? AND status = 'pending' ${afterId ? 'AND id > ?' : ''} ORDER BY id LIMIT ?`,
      afterId ? [groupId, afterId, limit] : [groupId, limit],
    );
    return (rows as JoinRequestRow[]).map(toRequest);
  }

  async approveJoinRequest(groupId: string, requestId: string, by: string) {
    return withTransaction(this.pool, async (conn) => {
      const group = await findGroup(conn, groupId, true);
      if (!group) return { kind: 'not_found' as const };
      const request = await findRequest(conn, groupId, requestId, true);
      if (!request || request.status !== 'pending') return { kind: 'not_found' as const };
      const settle = (status: 'approved' | 'rejected') =>
        conn.query('UPDATE group_join_requests SET status = ?, pending = NULL, handled_by = ? WHERE id = ?', [
          status,
          by,
          requestId,
        ]);
      if (await isBanned(conn, groupId, request.userId)) {
        await settle('rejected');
        return { kind: 'banned' as const };
      }
      if (await findMember(conn, groupId, request.userId)) {
        await settle('approved');
        return { kind: 'already_member' as const };
      }
      const [res] = await conn.query(
        'UPDATE chat_groups SET member_count = member_count + 1 WHERE id = ? AND member_count + 1 <= max_members',
        [groupId],
      );
      if (affected(res) === 0) return { kind: 'full' as const };
      await conn.query('INSERT INTO group_members (group_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)', [
        groupId,
        request.userId,
        'member',
        new Date(),
      ]);
      await settle('approved');
      const member = (await findMember(conn, groupId, request.userId))!;
      return { kind: 'approved' as const, member, request: { ...request, status: 'approved' as const } };
    });
  }

  async rejectJoinRequest(groupId: string, requestId: string, by: string): Promise<JoinRequestRecord | null> {
    const request = await findRequest(this.pool, groupId, requestId, false);
    if (!request || request.status !== 'pending') return null;
    const [res] = await this.pool.query(
      "UPDATE group_join_requests SET status = 'rejected', pending = NULL, handled_by = ? WHERE id = ? AND pending = 1",
      [by, requestId],
    );
    return affected(res) ? { ...request, status: 'rejected' } : null;
  }

  async groupSnapshot(groupId: string): Promise<GroupSnapshot> {
    const group = await this.findGroup(groupId);
    if (!group) return { exists: false, mutedAll: false, members: [] };
    const [rows] = await this.pool.query(
      'SELECT user_id, role, muted_until FROM group_members WHERE group_id = ?',
      [groupId],
    );
    return {
      exists: true,
      mutedAll: group.mutedAll,
      members: (rows as Array<{ user_id: string | number; role: GroupRole; muted_until: Date | null }>).map(
        (r) => ({
          userId: String(r.user_id),
          role: r.role,
          mutedUntil: r.muted_until,
        }),
      ),
    };
  }
}

/** A live group; `lock` takes its row lock, which every membership change holds until commit. */
async function findGroup(db: Db, groupId: string, lock: boolean): Promise<GroupRecord | null> {
  const [rows] = await db.query(
    `SELECT ${GROUP_COLUMNS} FROM chat_groups g WHERE g.id = ? AND g.status = 'active'${lock ? ' FOR UPDATE' : ''}`,
    [groupId],
  );
  const r = (rows as GroupRow[])[0];
  return r ? toGroup(r) : null;
}

async function findMember(db: Db, groupId: string, userId: string): Promise<MemberRecord | null> {
  const [rows] = await db.query(
    `SELECT ${MEMBER_COLUMNS} FROM group_members WHERE group_id = ? AND user_id = ?`,
    [groupId, userId],
  );
  const r = (rows as MemberRow[])[0];
  return r ? toMember(r) : null;
}

/** Runs the guard on the actor's and the target's memberships as they are now (the group row is locked). */
async function checkGuard(
  conn: PoolConnection,
  groupId: string,
  targetId: string,
  guard: MembershipGuard,
): Promise<void> {
  const actor = await findMember(conn, groupId, guard.actorId);
  const target = targetId === guard.actorId ? actor : await findMember(conn, groupId, targetId);
  guard.check(actor, target);
}

async function isBanned(db: Db, groupId: string, userId: string): Promise<boolean> {
  const [rows] = await db.query('SELECT 1 FROM group_bans WHERE group_id = ? AND user_id = ?', [
    groupId,
    userId,
  ]);
  return (rows as unknown[]).length > 0;
}

async function findRequest(db: Db, groupId: string, requestId: string, lock: boolean) {
  const [rows] = await db.query(
    `SELECT ${REQUEST_COLUMNS} FROM group_join_requests WHERE id = ? AND group_id = ?${lock ? ' FOR UPDATE' : ''}`,
    [requestId, groupId],
  );
  const r = (rows as JoinRequestRow[])[0];
  return r ? toRequest(r) : null;
}

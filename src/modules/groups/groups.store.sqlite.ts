import { isUniqueViolation, jsonIds, jsonList, toDate, type SqliteDatabase } from '../../infra/sqlite';
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

interface GroupRow {
  id: number;
  name: string;
  avatar: string | null;
  announcement: string | null;
  owner_id: number;
  max_members: number;
  member_count: number;
  join_policy: JoinPolicy;
  muted_all: number;
  created_at: number;
}

interface MemberRow {
  group_id: number;
  user_id: number;
  role: GroupRole;
  nickname: string | null;
  muted_until: number | null;
  joined_at: number;
}

interface JoinRequestRow {
  id: number;
  group_id: number;
  user_id: number;
  message: string | null;
  status: JoinRequestRecord['status'];
  created_at: number;
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
    maxMembers: r.max_members,
    memberCount: r.member_count,
    joinPolicy: r.join_policy,
    mutedAll: Boolean(r.muted_all),
    createdAt: toDate(r.created_at),
  };
}

function toMember(r: MemberRow): MemberRecord {
  return {
    groupId: String(r.group_id),
    userId: String(r.user_id),
    role: r.role,
    nickname: r.nickname,
    mutedUntil: r.muted_until === null ? null : toDate(r.muted_until),
    joinedAt: toDate(r.joined_at),
  };
}

function toRequest(r: JoinRequestRow): JoinRequestRecord {
  return {
    id: String(r.id),
    groupId: String(r.group_id),
    userId: String(r.user_id),
    message: r.message,
    status: r.status,
    createdAt: toDate(r.created_at),
  };
}

/**
 * Groups in the embedded SQLite database. Every membership change runs in one IMMEDIATE transaction, which
 * stands in for the MySQL engine's lock on the group row: SQLite has one writer at a time and better-sqlite3
 * runs the transaction (guard included) without yielding, so a guard always sees the memberships that hold.
 */
export class SqliteGroupsStore implements GroupsStore {
  constructor(private readonly db: SqliteDatabase) {}

  private write<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

  async createGroup(input: {
    name: string;
    avatar: string | null;
    ownerId: string;
    maxMembers: number;
    joinPolicy: JoinPolicy;
    memberIds: string[];
  }): Promise<GroupRecord> {
    return this.write(() => {
      const now = Date.now();
      const id = String(
        this.db
          .prepare(
            `INSERT INTO chat_groups (name, avatar, owner_id, max_members, member_count, join_policy, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            input.name,
            input.avatar,
            input.ownerId,
            input.maxMembers,
            1 + input.memberIds.length,
            input.joinPolicy,
            now,
            now,
          ).lastInsertRowid,
      );
      const insert = this.db.prepare(
        'INSERT INTO group_members (group_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)',
      );
      insert.run(id, input.ownerId, 'owner', now);
      for (const userId of input.memberIds) insert.run(id, userId, 'member', now);
      const group = this.group(id);
      if (!group) throw new Error('group vanished after insert');
      return group;
    });
  }

  async findGroup(groupId: string): Promise<GroupRecord | null> {
    return this.group(groupId);
  }

  async findGroups(groupIds: string[]): Promise<GroupRecord[]> {
    if (!groupIds.length) return [];
    const rows = this.db
      .prepare(
        `SELECT ${GROUP_COLUMNS} FROM chat_groups g
          WHERE g.id IN (SELECT value FROM json_each(?)) AND g.status = 'active'`,
      )
      .all(jsonIds(groupIds)) as GroupRow[];
    return rows.map(toGroup);
  }

  async groupIdsOf(userId: string): Promise<string[]> {
    const rows = this.db
      .prepare(
        `SELECT m.group_id FROM group_members m JOIN chat_groups g ON g.id = m.group_id
          WHERE m.user_id = ? AND g.status = 'active' ORDER BY m.group_id`,
      )
      .all(userId) as Array<{ group_id: number }>;
    return rows.map((r) => String(r.group_id));
  }

  async findMember(groupId: string, userId: string): Promise<MemberRecord | null> {
    return this.member(groupId, userId);
  }

  async isBanned(groupId: string, userId: string): Promise<boolean> {
    return this.banned(groupId, userId);
  }

  async listGroupsOf(userId: string, afterId: string | null, limit: number): Promise<GroupRecord[]> {
    const rows = this.db
      .prepare(
        `SELECT ${GROUP_COLUMNS} FROM group_members m JOIN chat_groups g ON g.id = m.group_id
          WHERE m.user_id = ? AND g.status = 'active' ${afterId ? 'AND m.group_id > ?' : ''}
          ORDER BY m.group_id LIMIT ?`,
      )
      .all(...(afterId ? [userId, afterId, limit] : [userId, limit])) as GroupRow[];
    return rows.map(toGroup);
  }

  async listMembers(groupId: string, afterUserId: string | null, limit: number): Promise<MemberRecord[]> {
    const rows = this.db
      .prepare(
        `SELECT ${MEMBER_COLUMNS} FROM group_members WHERE group_id = ? ${afterUserId ? 'AND user_id > ?' : ''}
          ORDER BY user_id LIMIT ?`,
      )
      .all(...(afterUserId ? [groupId, afterUserId, limit] : [groupId, limit])) as MemberRow[];
    return rows.map(toMember);
  }

  async memberIds(groupId: string, roles?: GroupRole[]): Promise<string[]> {
    const rows = this.db
      .prepare(
        `SELECT user_id FROM group_members WHERE group_id = ?${
          roles ? ' AND role IN (SELECT value FROM json_each(?))' : ''
        }`,
      )
      .all(...(roles ? [groupId, jsonList(roles)] : [groupId])) as Array<{ user_id: number }>;
    return rows.map((r) => String(r.user_id));
  }

  async updateGroup(groupId: string, changes: GroupChanges) {
    return this.write(() => {
      const group = this.group(groupId);
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
      const values: Array<string | number | null> = [];
      for (const [field, column] of Object.entries(columns) as Array<[keyof GroupChanges, string]>) {
        // Only what differs is written, so `changed` says whether anything did.
        if (changes[field] === undefined || changes[field] === group[field]) continue;
        sets.push(`${column} = ?`);
        values.push(changes[field] as string | number | null);
      }
      if (sets.length) {
        this.db
          .prepare(`UPDATE chat_groups SET ${sets.join(', ')}, updated_at = ? WHERE id = ?`)
          .run(...values, Date.now(), groupId);
      }
      return { kind: 'ok' as const, group: this.group(groupId)!, changed: sets.length > 0 };
    });
  }

  async setMutedAll(groupId: string, mutedAll: boolean): Promise<GroupRecord | null> {
    this.db
      .prepare("UPDATE chat_groups SET muted_all = ?, updated_at = ? WHERE id = ? AND status = 'active'")
      .run(mutedAll ? 1 : 0, Date.now(), groupId);
    return this.group(groupId);
  }

  async dissolve(groupId: string, guard?: MembershipGuard): Promise<string[] | null> {
    return this.write(() => {
      if (!this.group(groupId)) return null;
      if (guard) this.checkGuard(groupId, guard.actorId, guard);
      const rows = this.db
        .prepare('SELECT user_id FROM group_members WHERE group_id = ?')
        .all(groupId) as Array<{
        user_id: number;
      }>;
      const now = Date.now();
      this.db.prepare('DELETE FROM group_members WHERE group_id = ?').run(groupId);
      this.db
        .prepare(
          "UPDATE group_join_requests SET status = 'cancelled', pending = NULL, updated_at = ? WHERE group_id = ? AND pending = 1",
        )
        .run(now, groupId);
      this.db
        .prepare("UPDATE chat_groups SET status = 'dissolved', member_count = 0, updated_at = ? WHERE id = ?")
        .run(now, groupId);
      return rows.map((r) => String(r.user_id));
    });
  }

  async addMembers(groupId: string, userIds: string[]): Promise<AddOutcome> {
    return this.write((): AddOutcome => {
      const group = this.group(groupId);
      if (!group) return { kind: 'not_found' };
      const wanted = [...new Set(userIds)];
      if (!wanted.length) return { kind: 'added', added: [], banned: [], existing: [] };
      const among = (table: string) =>
        (
          this.db
            .prepare(
              `SELECT user_id FROM ${table} WHERE group_id = ? AND user_id IN (SELECT value FROM json_each(?))`,
            )
            .all(groupId, jsonIds(wanted)) as Array<{ user_id: number }>
        ).map((r) => String(r.user_id));
      const banned = among('group_bans');
      const existing = among('group_members');
      const skip = new Set([...banned, ...existing]);
      const toAdd = wanted.filter((id) => !skip.has(id));
      if (!toAdd.length) return { kind: 'added', added: [], banned, existing };
      if (group.memberCount + toAdd.length > group.maxMembers)
        return { kind: 'full', room: Math.max(0, group.maxMembers - group.memberCount) };
      const now = Date.now();
      this.db
        .prepare('UPDATE chat_groups SET member_count = member_count + ?, updated_at = ? WHERE id = ?')
        .run(toAdd.length, now, groupId);
      const insert = this.db.prepare(
        "INSERT INTO group_members (group_id, user_id, role, joined_at) VALUES (?, ?, 'member', ?)",
      );
      for (const userId of toAdd) insert.run(groupId, userId, now);
      this.db
        .prepare(
          `UPDATE group_join_requests SET status = 'approved', pending = NULL, updated_at = ?
            WHERE group_id = ? AND user_id IN (SELECT value FROM json_each(?)) AND pending = 1`,
        )
        .run(now, groupId, jsonIds(toAdd));
      const added = this.db
        .prepare(
          `SELECT ${MEMBER_COLUMNS} FROM group_members
            WHERE group_id = ? AND user_id IN (SELECT value FROM json_each(?)) ORDER BY user_id`,
        )
        .all(groupId, jsonIds(toAdd)) as MemberRow[];
      return { kind: 'added', added: added.map(toMember), banned, existing };
    });
  }

  async removeMember(
    groupId: string,
    userId: string,
    ban: { by: string } | null,
    guard?: MembershipGuard,
  ): Promise<boolean> {
    return this.write(() => {
      if (!this.group(groupId)) return false;
      if (guard) this.checkGuard(groupId, userId, guard);
      const now = Date.now();
      const removed =
        this.db.prepare('DELETE FROM group_members WHERE group_id = ? AND user_id = ?').run(groupId, userId)
          .changes > 0;
      if (removed) {
        this.db
          .prepare('UPDATE chat_groups SET member_count = member_count - 1, updated_at = ? WHERE id = ?')
          .run(now, groupId);
      }
      if (ban) {
        this.db
          .prepare(
            'INSERT OR IGNORE INTO group_bans (group_id, user_id, banned_by, created_at) VALUES (?, ?, ?, ?)',
          )
          .run(groupId, userId, ban.by, now);
        this.db
          .prepare(
            `UPDATE group_join_requests SET status = 'rejected', pending = NULL, handled_by = ?, updated_at = ?
              WHERE group_id = ? AND user_id = ? AND pending = 1`,
          )
          .run(ban.by, now, groupId, userId);
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
    const values: Array<string | number | null> = [];
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
      values.push(changes.mutedUntil === null ? null : changes.mutedUntil.getTime());
    }
    return this.write(() => {
      if (!this.group(groupId)) return null;
      if (guard) this.checkGuard(groupId, userId, guard);
      if (sets.length) {
        this.db
          .prepare(`UPDATE group_members SET ${sets.join(', ')} WHERE group_id = ? AND user_id = ?`)
          .run(...values, groupId, userId);
      }
      return this.member(groupId, userId);
    });
  }

  async transfer(groupId: string, fromUserId: string, toUserId: string): Promise<boolean> {
    return this.write(() => {
      const group = this.group(groupId);
      if (!group || group.ownerId !== fromUserId) return false;
      const from = this.member(groupId, fromUserId);
      const target = this.member(groupId, toUserId);
      if (from?.role !== 'owner' || !target) return false;
      this.db
        .prepare("UPDATE group_members SET role = 'admin' WHERE group_id = ? AND user_id = ?")
        .run(groupId, fromUserId);
      this.db
        .prepare(
          "UPDATE group_members SET role = 'owner', muted_until = NULL WHERE group_id = ? AND user_id = ?",
        )
        .run(groupId, toUserId);
      this.db
        .prepare('UPDATE chat_groups SET owner_id = ?, updated_at = ? WHERE id = ?')
        .run(toUserId, Date.now(), groupId);
      return true;
    });
  }

  async createJoinRequest(
    groupId: string,
    userId: string,
    message: string | null,
  ): Promise<JoinRequestRecord> {
    return this.write(() => {
      const now = Date.now();
      try {
        const id = this.db
          .prepare(
            `INSERT INTO group_join_requests (group_id, user_id, message, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?)`,
          )
          .run(groupId, userId, message, now, now).lastInsertRowid;
        return this.request(groupId, String(id))!;
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        const existing = this.db
          .prepare(
            `SELECT ${REQUEST_COLUMNS} FROM group_join_requests WHERE group_id = ? AND user_id = ? AND pending = 1`,
          )
          .get(groupId, userId) as JoinRequestRow | undefined;
        if (!existing) throw err;
        return toRequest(existing);
      }
    });
  }

  async listJoinRequests(
    groupId: string,
    afterId: string | null,
    limit: number,
  ): Promise<JoinRequestRecord[]> {
    const rows = this.db
      .prepare(
        `SELECT ${REQUEST_COLUMNS} FROM group_join_requests
          WHERE group_id = ? AND status = 'pending' ${afterId ? 'AND id > ?' : ''} ORDER BY id LIMIT ?`,
      )
      .all(...(afterId ? [groupId, afterId, limit] : [groupId, limit])) as JoinRequestRow[];
    return rows.map(toRequest);
  }

  async approveJoinRequest(groupId: string, requestId: string, by: string) {
    return this.write(() => {
      const group = this.group(groupId);
      if (!group) return { kind: 'not_found' as const };
      const request = this.request(groupId, requestId);
      if (!request || request.status !== 'pending') return { kind: 'not_found' as const };
      const settle = (status: 'approved' | 'rejected') =>
        this.db
          .prepare(
            'UPDATE group_join_requests SET status = ?, pending = NULL, handled_by = ?, updated_at = ? WHERE id = ?',
          )
          .run(status, by, Date.now(), requestId);
      if (this.banned(groupId, request.userId)) {
        settle('rejected');
        return { kind: 'banned' as const };
      }
      if (this.member(groupId, request.userId)) {
        settle('approved');
        return { kind: 'already_member' as const };
      }
      if (group.memberCount + 1 > group.maxMembers) return { kind: 'full' as const };
      const now = Date.now();
      this.db
        .prepare('UPDATE chat_groups SET member_count = member_count + 1, updated_at = ? WHERE id = ?')
        .run(now, groupId);
      this.db
        .prepare("INSERT INTO group_members (group_id, user_id, role, joined_at) VALUES (?, ?, 'member', ?)")
        .run(groupId, request.userId, now);
      settle('approved');
      const member = this.member(groupId, request.userId)!;
      return { kind: 'approved' as const, member, request: { ...request, status: 'approved' as const } };
    });
  }

  async rejectJoinRequest(groupId: string, requestId: string, by: string): Promise<JoinRequestRecord | null> {
    return this.write(() => {
      const request = this.request(groupId, requestId);
      if (!request || request.status !== 'pending') return null;
      const res = this.db
        .prepare(
          "UPDATE group_join_requests SET status = 'rejected', pending = NULL, handled_by = ?, updated_at = ? WHERE id = ? AND pending = 1",
        )
        .run(by, Date.now(), requestId);
      return res.changes ? { ...request, status: 'rejected' as const } : null;
    });
  }

  async groupSnapshot(groupId: string): Promise<GroupSnapshot> {
    const group = this.group(groupId);
    if (!group) return { exists: false, mutedAll: false, members: [] };
    const rows = this.db
      .prepare('SELECT user_id, role, muted_until FROM group_members WHERE group_id = ?')
      .all(groupId) as Array<{ user_id: number; role: GroupRole; muted_until: number | null }>;
    return {
      exists: true,
      mutedAll: group.mutedAll,
      members: rows.map((r) => ({
        userId: String(r.user_id),
        role: r.role,
        mutedUntil: r.muted_until === null ? null : toDate(r.muted_until),
      })),
    };
  }

  /** A live group; null when unknown or dissolved. */
  private group(groupId: string): GroupRecord | null {
    const r = this.db
      .prepare(`SELECT ${GROUP_COLUMNS} FROM chat_groups g WHERE g.id = ? AND g.status = 'active'`)
      .get(groupId) as GroupRow | undefined;
    return r ? toGroup(r) : null;
  }

  private member(groupId: string, userId: string): MemberRecord | null {
    const r = this.db
      .prepare(`SELECT ${MEMBER_COLUMNS} FROM group_members WHERE group_id = ? AND user_id = ?`)
      .get(groupId, userId) as MemberRow | undefined;
    return r ? toMember(r) : null;
  }

  private banned(groupId: string, userId: string): boolean {
    return Boolean(
      this.db.prepare('SELECT 1 FROM group_bans WHERE group_id = ? AND user_id = ?').get(groupId, userId),
    );
  }

  private request(groupId: string, requestId: string): JoinRequestRecord | null {
    const r = this.db
      .prepare(`SELECT ${REQUEST_COLUMNS} FROM group_join_requests WHERE id = ? AND group_id = ?`)
      .get(requestId, groupId) as JoinRequestRow | undefined;
    return r ? toRequest(r) : null;
  }

  /** Runs the guard on the actor's and the target's memberships as they are inside the transaction. */
  private checkGuard(groupId: string, targetId: string, guard: MembershipGuard): void {
    const actor = this.member(groupId, guard.actorId);
    const target = targetId === guard.actorId ? actor : this.member(groupId, targetId);
    guard.check(actor, target);
  }
}

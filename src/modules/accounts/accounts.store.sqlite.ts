import {
  foldText,
  isUniqueViolation,
  jsonIds,
  toDate,
  usernameKey,
  type SqliteDatabase,
} from '../../infra/sqlite';
import { ConflictError } from '../../shared/errors';
import type {
  AccountsStore,
  NewUser,
  NicknamePosition,
  ProfileChanges,
  UserRecord,
  UserRole,
  UserStatus,
} from './accounts.store';

interface UserRow {
  id: number;
  username: string;
  domain: string;
  password_hash: string | null;
  nickname: string;
  avatar: string | null;
  birth_date: string | null;
  presence: UserRecord['presence'];
  status: UserStatus;
  role: UserRole;
  created_at: number;
  updated_at: number;
}

const COLUMNS =
  'id, username, domain, password_hash, nickname, avatar, birth_date, presence, status, role, created_at, updated_at';

function toRecord(r: UserRow): UserRecord {
  return {
    id: String(r.id),
    username: r.username,
    domain: r.domain,
    passwordHash: r.password_hash,
    nickname: r.nickname,
    avatar: r.avatar,
    birthDate: r.birth_date,
    presence: r.presence,
    status: r.status,
    role: r.role,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

/** Escapes LIKE wildcards so user input matches literally (with `ESCAPE '\'`). */
function likePrefix(q: string): string {
  return q.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
}

/**
 * Accounts in the embedded SQLite database. Usernames are unique and found by `usernameKey` and nicknames
 * searched and ordered by `foldText`, the case- and accent-insensitive keys that stand in for MariaDB's
 * collation (SQLite orders the folded keys by code point, where MariaDB uses UCA weights: the same for
 * letters and digits, not always for punctuation).
 */
export class SqliteAccountsStore implements AccountsStore {
  constructor(private readonly db: SqliteDatabase) {}

  async create(user: NewUser): Promise<UserRecord> {
    const now = Date.now();
    let id: number | bigint;
    try {
      id = this.db
        .prepare(
          `INSERT INTO users (username, username_key, password_hash, nickname, nickname_key, birth_date, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          user.username,
          usernameKey(user.username),
          user.passwordHash,
          user.nickname,
          foldText(user.nickname),
          user.birthDate,
          now,
          now,
        ).lastInsertRowid;
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError('Username is taken', 'USERNAME_TAKEN');
      throw err;
    }
    const created = await this.findById(String(id));
    if (!created) throw new Error('user vanished after insert');
    return created;
  }

  async findById(id: string): Promise<UserRecord | null> {
    const r = this.db.prepare(`SELECT ${COLUMNS} FROM users WHERE id = ?`).get(id) as UserRow | undefined;
    return r ? toRecord(r) : null;
  }

  async findByIds(ids: string[]): Promise<UserRecord[]> {
    if (ids.length === 0) return [];
    const rows = this.db
      .prepare(`SELECT ${COLUMNS} FROM users WHERE id IN (SELECT value FROM json_each(?))`)
      .all(jsonIds(ids)) as UserRow[];
    return rows.map(toRecord);
  }

  async findByUsername(username: string): Promise<UserRecord | null> {
    const r = this.db
      .prepare(`SELECT ${COLUMNS} FROM users WHERE username_key = ? AND domain = ''`)
      .get(usernameKey(username)) as UserRow | undefined;
    return r ? toRecord(r) : null;
  }

  async updateProfile(id: string, changes: ProfileChanges): Promise<UserRecord | null> {
    const sets: string[] = [];
    const values: Array<string | null> = [];
    const columns: Record<keyof ProfileChanges, string> = {
      nickname: 'nickname',
      avatar: 'avatar',
      birthDate: 'birth_date',
      presence: 'presence',
    };
    for (const key of Object.keys(columns) as Array<keyof ProfileChanges>) {
      if (changes[key] !== undefined) {
        sets.push(`${columns[key]} = ?`);
        values.push(changes[key] ?? null);
      }
    }
    if (changes.nickname !== undefined) {
      sets.push('nickname_key = ?');
      values.push(foldText(changes.nickname));
    }
    if (sets.length) this.update(id, sets, values);
    return this.findById(id);
  }

  async updatePassword(id: string, passwordHash: string): Promise<void> {
    this.update(id, ['password_hash = ?'], [passwordHash]);
  }

  async setStatus(id: string, status: UserStatus): Promise<void> {
    this.update(id, ['status = ?'], [status]);
  }

  async setRole(id: string, role: UserRole): Promise<void> {
    this.update(id, ['role = ?'], [role]);
  }

  /** Sets columns and `updated_at` (MySQL's ON UPDATE CURRENT_TIMESTAMP). */
  private update(id: string, sets: string[], values: Array<string | null>): void {
    this.db
      .prepare(`UPDATE users SET ${sets.join(', ')}, updated_at = ? WHERE id = ?`)
      .run(...values, Date.now(), id);
  }

  async searchByNickname(
    prefix: string,
    after: NicknamePosition | null,
    excludeId: string | null,
    limit: number,
    viewerId?: string,
  ): Promise<UserRecord[]> {
    const where = ["status = 'active'", "nickname_key LIKE ? ESCAPE '\\'"];
    const params: Array<string | number> = [likePrefix(foldText(prefix))];
    if (after) {
      const key = foldText(after.nickname);
      where.push('(nickname_key > ? OR (nickname_key = ? AND id > ?))');
      params.push(key, key, after.id);
    }
    if (excludeId) {
      where.push('id <> ?');
      params.push(excludeId);
    }
    if (viewerId) {
      where.push('NOT EXISTS (SELECT 1 FROM user_blocks b WHERE b.user_id = users.id AND b.blocked_id = ?)');
      params.push(viewerId);
    }
    params.push(limit);
    const rows = this.db
      .prepare(`SELECT ${COLUMNS} FROM users WHERE ${where.join(' AND ')} ORDER BY nickname_key, id LIMIT ?`)
      .all(...params) as UserRow[];
    return rows.map(toRecord);
  }
}

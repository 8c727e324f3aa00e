import type { Pool } from '../../infra/mysql';
import { isDuplicateKey } from '../../infra/mysql';
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
  id: string;
  username: string;
  domain: string;
  password_hash: string | null;
  nickname: string;
  avatar: string | null;
  birth_date: Date | string | null;
  presence: UserRecord['presence'];
  status: UserStatus;
  role: UserRole;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS =
  'id, username, domain, password_hash, nickname, avatar, DATE_FORMAT(birth_date, "%Y-%m-%d") AS birth_date, presence, status, role, created_at, updated_at';

function toRecord(r: UserRow): UserRecord {
  return {
    id: String(r.id),
    username: r.username,
    domain: r.domain,
    passwordHash: r.password_hash,
    nickname: r.nickname,
    avatar: r.avatar,
    birthDate: r.birth_date === null ? null : String(r.birth_date),
    presence: r.presence,
    status: r.status,
    role: r.role,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Escapes LIKE wildcards so user input matches literally. */
function likePrefix(q: string): string {
  return q.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
}

/** Accounts in MySQL. */
export class MysqlAccountsStore implements AccountsStore {
  constructor(private readonly pool: Pool) {}

  async create(user: NewUser): Promise<UserRecord> {
    try {
      const [res] = await this.pool.execute(
        'INSERT INTO users (username, password_hash, nickname, birth_date) VALUES (?, ?, ?, ?)',
        [user.username, user.passwordHash, user.nickname, user.birthDate],
      );
      const id = String((res as { insertId: number | string }).insertId);
      const created = await this.findById(id);
      if (!created) throw new Error('user vanished after insert');
      return created;
    } catch (err) {
      if (isDuplicateKey(err)) throw new ConflictError('Username is taken', 'USERNAME_TAKEN');
      throw err;
    }
  }

  async findById(id: string): Promise<UserRecord | null> {
    const [rows] = await this.pool.execute(`SELECT ${COLUMNS} FROM users WHERE id = ?`, [id]);
    const r = (rows as UserRow[])[0];
    return r ? toRecord(r) : null;
  }

  async findByIds(ids: string[]): Promise<UserRecord[]> {
    if (ids.length === 0) return [];
    const [rows] = await this.pool.query(`SELECT ${COLUMNS} FROM users WHERE id IN (?)`, [ids]);
    return (rows as UserRow[]).map(toRecord);
  }

  async findByUsername(username: string): Promise<UserRecord | null> {
    const [rows] = await this.pool.execute(
      `SELECT ${COLUMNS} FROM users WHERE username = ? AND domain = ''`,
      [username],
    );
    const r = (rows as UserRow[])[0];
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
    if (sets.length)
      await this.pool.execute(`UPDATE users SET ${sets.join(', ')} WHERE id = ?`, [...values, id]);
    return this.findById(id);
  }

  async updatePassword(id: string, passwordHash: string): Promise<void> {
    await this.pool.execute('UPDATE users SET password_hash = ? WHERE id = ?', [passwordHash, id]);
  }

  async setStatus(id: string, status: UserStatus): Promise<void> {
    await this.pool.execute('UPDATE users SET status = ? WHERE id = ?', [status, id]);
  }

  async setRole(id: string, role: UserRole): Promise<void> {
    await this.pool.execute('UPDATE users SET role = ? WHERE id = ?', [role, id]);
  }

  async searchByNickname(
    prefix: string,
    after: NicknamePosition | null,
    excludeId: string | null,
    limit: number,
    viewerId?: string,
  ): Promise<UserRecord[]> {
    // Served by ix_users_nickname (status, nickname, id) as one range, without a sort.
    const where = ["status = 'active'", 'nickname LIKE ?'];
    const params: Array<string | number> = [likePrefix(prefix)];
    if (after) {
      where.push('(nickname > ? OR (nickname = ? AND id > ?))');
      params.push(after.nickname, after.nickname, after.id);
    }
    if (excludeId) {
      where.push('id <> ?');
      params.push(excludeId);
    }
    if (viewerId) {
      // Blocks live beside the users (sql/010_friends.sql): one primary-key probe per candidate row.
      where.push('NOT EXISTS (SELECT 1 FROM user_blocks b WHERE b.user_id = users.id AND b.blocked_id = ?)');
      params.push(viewerId);
    }
    params.push(limit);
    const [rows] = await this.pool.query(
      `SELECT ${COLUMNS} FROM users WHERE ${where.join(' AND ')} ORDER BY nickname, id LIMIT ?`,
      params,
    );
    return (rows as UserRow[]).map(toRecord);
  }
}

import type { Pool } from '../../infra/mysql';
import type { RowDataPacket } from 'mysql2/promise';
import type { UploadKind, UploadRecord, UploadRef, UploadStore } from './uploads.store';

interface UploadRow extends RowDataPacket {
  id: string;
  owner_id: string;
  kind: UploadKind;
  mime: string;
  size: string | number;
  name: string;
  width: number | null;
  height: number | null;
  duration: number | null;
  storage_key: string;
  thumb_key: string | null;
  thumb_size: string | number | null;
  created_at: Date;
}

interface RefRow extends RowDataPacket {
  upload_id: string;
  message_id: string;
  conversation_id: string;
}

const COLUMNS =
  'id, owner_id, kind, mime, size, name, width, height, duration, storage_key, thumb_key, thumb_size, created_at';

function toRecord(r: UploadRow): UploadRecord {
  return {
    id: r.id,
    ownerId: r.owner_id,
    kind: r.kind,
    mime: r.mime,
    size: Number(r.size),
    name: r.name,
    width: r.width === null ? null : Number(r.width),
    height: r.height === null ? null : Number(r.height),
    duration: r.duration === null ? null : Number(r.duration),
    storageKey: r.storage_key,
    thumbKey: r.thumb_key,
    thumbSize: r.thumb_size === null ? null : Number(r.thumb_size),
    createdAt: r.created_at,
  };
}

/** Upload metadata in MySQL/MariaDB (`uploads`, `upload_refs`). */
export class MysqlUploadStore implements UploadStore {
  constructor(private readonly pool: Pool) {}

  async insert(u: UploadRecord): Promise<void> {
    await this.pool.execute(
      `INSERT INTO uploads (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        u.id,
        u.ownerId,
        u.kind,
        u.mime,
        u.size,
        u.name,
        u.width,
        u.height,
        u.duration,
        u.storageKey,
        u.thumbKey,
        u.thumbSize,
        u.createdAt,
      ],
    );
  }

  async findById(id: string): Promise<UploadRecord | null> {
    const [rows] = await this.pool.execute<UploadRow[]>(`SELECT ${COLUMNS} FROM uploads WHERE id = ?`, [id]);
    return rows.length ? toRecord(rows[0]) : null;
  }

  async bytesOf(ownerId: string): Promise<number> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(
      'SELECT COALESCE(SUM(size + COALESCE(thumb_size, 0)), 0) AS bytes FROM uploads WHERE owner_id = ?',
      [ownerId],
    );
    return Number(rows[0].bytes);
  }

  async addRef(ref: UploadRef): Promise<void> {
    await this.pool.execute(
      'INSERT IGNORE INTO upload_refs (upload_id, message_id, conversation_id) VALUES (?, ?, ?)',
      [ref.uploadId, ref.messageId, ref.conversationId],
    );
  }

  async removeRefsOfMessage(messageId: string): Promise<void> {
    await this.pool.execute('DELETE FROM upload_refs WHERE message_id = ?', [messageId]);
  }

  async refsOf(uploadId: string, limit: number): Promise<UploadRef[]> {
    const [rows] = await this.pool.query<RefRow[]>(
      'SELECT upload_id, message_id, conversation_id FROM upload_refs WHERE upload_id = ? ORDER BY created_at, message_id LIMIT ?',
      [uploadId, limit],
    );
    return rows.map((r) => ({
      uploadId: r.upload_id,
      messageId: r.message_id,
      conversationId: r.conversation_id,
    }));
  }

  async orphans(before: Date, limit: number): Promise<UploadRecord[]> {
    const [rows] = await this.pool.query<UploadRow[]>(
      `SELECT ${COLUMNS} FROM uploads u WHERE u.created_at < ?
         AND NOT EXISTS (SELECT 1 FROM upload_refs r WHERE r.upload_id = u.id)
       ORDER BY u.created_at LIMIT ?`,
      [before, limit],
    );
    return rows.map(toRecord);
  }

  async delete(id: string): Promise<boolean> {
    await this.pool.execute('DELETE FROM upload_refs WHERE upload_id = ?', [id]);
    const [result] = await this.pool.execute('DELETE FROM uploads WHERE id = ?', [id]);
    return (result as { affectedRows: number }).affectedRows > 0;
  }

  async keyInUse(key: string): Promise<boolean> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(
      'SELECT (EXISTS (SELECT 1 FROM uploads WHERE storage_key = ?) OR EXISTS (SELECT 1 FROM uploads WHERE thumb_key = ?)) AS used',
      [key, key],
    );
    return Number(rows[0].used) === 1;
  }
}

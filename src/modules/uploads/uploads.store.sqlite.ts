import { toDate, type SqliteDatabase } from '../../infra/sqlite';
import type { UploadKind, UploadRecord, UploadRef, UploadStore } from './uploads.store';

interface UploadRow {
  id: string;
  owner_id: string;
  kind: UploadKind;
  mime: string;
  size: number;
  name: string;
  width: number | null;
  height: number | null;
  duration: number | null;
  storage_key: string;
  thumb_key: string | null;
  thumb_size: number | null;
  created_at: number;
}

const COLUMNS =
  'id, owner_id, kind, mime, size, name, width, height, duration, storage_key, thumb_key, thumb_size, created_at';

function toRecord(r: UploadRow): UploadRecord {
  return {
    id: r.id,
    ownerId: r.owner_id,
    kind: r.kind,
    mime: r.mime,
    size: r.size,
    name: r.name,
    width: r.width,
    height: r.height,
    duration: r.duration,
    storageKey: r.storage_key,
    thumbKey: r.thumb_key,
    thumbSize: r.thumb_size,
    createdAt: toDate(r.created_at),
  };
}

/** Upload metadata in the embedded SQLite database (`uploads`, `upload_refs`). */
export class SqliteUploadStore implements UploadStore {
  constructor(private readonly db: SqliteDatabase) {}

  async insert(u: UploadRecord): Promise<void> {
    this.db
      .prepare(`INSERT INTO uploads (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(
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
        u.createdAt.getTime(),
      );
  }

  async findById(id: string): Promise<UploadRecord | null> {
    const r = this.db.prepare(`SELECT ${COLUMNS} FROM uploads WHERE id = ?`).get(id) as UploadRow | undefined;
    return r ? toRecord(r) : null;
  }

  async bytesOf(ownerId: string): Promise<number> {
    const r = this.db
      .prepare(
        'SELECT COALESCE(SUM(size + COALESCE(thumb_size, 0)), 0) AS bytes FROM uploads WHERE owner_id = ?',
      )
      .get(ownerId) as { bytes: number };
    return r.bytes;
  }

  async addRef(ref: UploadRef): Promise<void> {
    this.db
      .prepare(
        'INSERT OR IGNORE INTO upload_refs (upload_id, message_id, conversation_id, created_at) VALUES (?, ?, ?, ?)',
      )
      .run(ref.uploadId, ref.messageId, ref.conversationId, Date.now());
  }

  async removeRefsOfMessage(messageId: string): Promise<void> {
    this.db.prepare('DELETE FROM upload_refs WHERE message_id = ?').run(messageId);
  }

  async refsOf(uploadId: string, limit: number): Promise<UploadRef[]> {
    const rows = this.db
      .prepare(
        'SELECT upload_id, message_id, conversation_id FROM upload_refs WHERE upload_id = ? ORDER BY created_at, message_id LIMIT ?',
      )
      .all(uploadId, limit) as Array<{ upload_id: string; message_id: string; conversation_id: string }>;
    return rows.map((r) => ({
      uploadId: r.upload_id,
      messageId: r.message_id,
      conversationId: r.conversation_id,
    }));
  }

  async orphans(before: Date, limit: number): Promise<UploadRecord[]> {
    const rows = this.db
      .prepare(
        `SELECT ${COLUMNS} FROM uploads u WHERE u.created_at < ?
           AND NOT EXISTS (SELECT 1 FROM upload_refs r WHERE r.upload_id = u.id)
         ORDER BY u.created_at LIMIT ?`,
      )
      .all(before.getTime(), limit) as UploadRow[];
    return rows.map(toRecord);
  }

  async delete(id: string): Promise<boolean> {
    return this.db
      .transaction(() => {
        this.db.prepare('DELETE FROM upload_refs WHERE upload_id = ?').run(id);
        return this.db.prepare('DELETE FROM uploads WHERE id = ?').run(id).changes > 0;
      })
      .immediate();
  }

  async keyInUse(key: string): Promise<boolean> {
    const r = this.db
      .prepare(
        'SELECT (EXISTS (SELECT 1 FROM uploads WHERE storage_key = ?) OR EXISTS (SELECT 1 FROM uploads WHERE thumb_key = ?)) AS used',
      )
      .get(key, key) as { used: number };
    return r.used === 1;
  }
}

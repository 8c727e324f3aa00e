import type { RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../infra/mysql';
import { newId } from '../../shared/ids';
import { alreadyStored, type AppendResult, type NewMessage, type StoredMessage } from './messages.store';

interface Pending {
  input: NewMessage;
  resolve: (result: AppendResult) => void;
  reject: (err: unknown) => void;
}

/** Limits of the append batcher. */
export interface AppendBatchOptions {
  /** Most messages stored by one transaction. */
  maxBatch: number;
  /** Transactions in flight at once; arrivals meanwhile wait and form the next batch. */
  maxParallel: number;
}

/** The key of a (senderId, clientMsgId) pair in lookups. */
export function batchKey(senderId: string, clientMsgId: string): string {
  return `${senderId}\n${clientMsgId}`;
}

export const DEFAULT_APPEND_BATCH: AppendBatchOptions = { maxBatch: 200, maxParallel: 4 };

/**
 * Group commit for MySQL appends. Messages that arrive while `maxParallel` transactions are running wait
 * and are then stored together by one transaction: one counter upsert for all their conversations (taken
 * in id order, so two batches never deadlock on each other), one multi-row insert, one commit (one log
 * flush). The counter and the messages commit or roll back together, so seqs stay gap-free; a batch that
 * fails for any reason (a clientMsgId raced in from elsewhere, a deadlock) is rolled back whole and each of
 * its messages goes again through `single`, the one-message path with its duplicate and deadlock handling.
 * A caller's promise settles only after its message is committed, so it is still stored before pushed.
 */
export class AppendBatcher {
  private queue: Pending[] = [];
  private running = 0;

  constructor(
    private readonly pool: Pool,
    private readonly single: (input: NewMessage) => Promise<AppendResult>,
    /** The stored messages among these (senderId, clientMsgId) pairs, keyed by `batchKey`. */
    private readonly lookup: (inputs: NewMessage[]) => Promise<Map<string, StoredMessage>>,
    private readonly options: AppendBatchOptions = DEFAULT_APPEND_BATCH,
  ) {}

  /**
   * Stores a message, or finds the one already stored for its clientMsgId (`alreadyStored`: the original, or
   * CLIENT_MSG_ID_REUSED when it is in another conversation); resolves once committed.
   */
  append(input: NewMessage): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.options.maxParallel && this.queue.length) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.running++;
      void this.flush(batch).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async flush(batch: Pending[]): Promise<void> {
    // The same (sender, clientMsgId) twice in one batch would fail the unique key for all: the later ones
    // wait for the batch and then find the first through the single path.
    const firsts = new Map<string, Pending>();
    const repeats: Pending[] = [];
    for (const p of batch) {
      const key = batchKey(p.input.senderId, p.input.clientMsgId);
      if (firsts.has(key)) repeats.push(p);
      else firsts.set(key, p);
    }
    // Idempotency: one lookup for the whole batch instead of one per message.
    let found: Map<string, StoredMessage>;
    try {
      found = await this.lookup([...firsts.values()].map((p) => p.input));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    const items: Pending[] = [];
    for (const [key, p] of firsts) {
      const original = found.get(key);
      if (!original) items.push(p);
      else {
        try {
          p.resolve(alreadyStored(p.input, original));
        } catch (err) {
          p.reject(err);
        }
      }
    }
    let stored: StoredMessage[] | null = null;
    try {
      stored = items.length > 1 ? await this.store(items.map((p) => p.input)) : null;
    } catch {
      stored = null;
    }
    if (stored) items.forEach((p, i) => p.resolve({ message: stored[i], existing: false }));
    else await Promise.all(items.map((p) => this.single(p.input).then(p.resolve, p.reject)));
    await Promise.all(repeats.map((p) => this.single(p.input).then(p.resolve, p.reject)));
  }

  /** One transaction for the whole batch; returns the stored messages in input order. */
  private async store(inputs: NewMessage[]): Promise<StoredMessage[]> {
    const counts = new Map<string, number>();
    for (const m of inputs) counts.set(m.conversationId, (counts.get(m.conversationId) ?? 0) + 1);
    const conversationIds = [...counts.keys()].sort();
    const conn = await this.pool.getConnection();
    try {
      await conn.beginTransaction();
      const now = new Date();
      await conn.query(
        `INSERT INTO conversations (id, last_seq, last_at) VALUES ${conversationIds.map(() => '(?, ?, ?)').join(', ')}
         ON DUPLICATE KEY UPDATE last_seq = last_seq + VALUES(last_seq), last_at = GREATEST(last_at, VALUES(last_at))`,
        conversationIds.flatMap((id) => [id, counts.get(id)!, now]),
      );
      const [rows] = await conn.query<RowDataPacket[]>(
        'SELECT id, last_seq FROM conversations WHERE id IN (?)',
        [conversationIds],
      );
      // The first seq of this batch in each conversation: the counter minus what this batch added.
      const next = new Map(
        rows.map((r) => [String(r.id), Number(r.last_seq) - counts.get(String(r.id))! + 1]),
      );
      // Taken while holding the counter locks, so createdAt follows seq order within a conversation.
      const createdAt = new Date();
      const messages: StoredMessage[] = inputs.map((m) => {
        const seq = next.get(m.conversationId)!;
        next.set(m.conversationId, seq + 1);
        return {
          id: newId(),
          conversationId: m.conversationId,
          seq,
          senderId: m.senderId,
          type: m.type,
          content: m.content,
          clientMsgId: m.clientMsgId,
          createdAt,
          status: 'normal',
        };
      });
      await conn.query(
        `INSERT INTO messages (id, conversation_id, seq, sender_id, type, content, client_msg_id, status, created_at)
         VALUES ?`,
        [
          messages.map((m) => [
            m.id,
            m.conversationId,
            m.seq,
            m.senderId,
            m.type,
            JSON.stringify(m.content),
            m.clientMsgId,
            'normal',
            createdAt,
          ]),
        ],
      );
      await conn.commit();
      return messages;
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }
}

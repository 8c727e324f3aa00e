import type { RowDataPacket } from 'mysql2/promise';
import {
  isDuplicateKey,
  isRetryableLockError as isDeadlock,
  withTransaction,
  type Pool,
} from '../../infra/mysql';
import { newId } from '../../shared/ids';
import {
  AppendBatcher,
  batchKey,
  DEFAULT_APPEND_BATCH,
  type AppendBatchOptions,
} from './messages.append-batch.mysql';
import {
  alreadyStored,
  pageSummaries,
  type AppendResult,
  type ConversationState,
  type ConversationSummary,
  type MessageStore,
  type MessageType,
  type NewMessage,
  type PageQuery,
  type StateFlag,
  type StoredMessage,
  type SummaryQuery,
} from './messages.store';

interface MessageRow extends RowDataPacket {
  id: string;
  conversation_id: string;
  seq: string | number;
  sender_id: string;
  type: string;
  content: string | null;
  client_msg_id: string;
  status: 'normal' | 'recalled';
  created_at: Date;
}

interface StateRow extends RowDataPacket {
  user_id: string;
  conversation_id: string;
  read_seq: string | number;
  cleared_seq: string | number;
  pinned: number;
  muted: number;
  silenced: number;
}

const MESSAGE_COLUMNS =
  'id, conversation_id, seq, sender_id, type, content, client_msg_id, status, created_at';
const M_COLUMNS = MESSAGE_COLUMNS.split(', ')
  .map((c) => `m.${c}`)
  .join(', ');
/** Leaves out the messages that the user (the parameter) hid for themself. */
const NOT_HIDDEN = 'NOT EXISTS (SELECT 1 FROM message_hides h WHERE h.user_id = ? AND h.message_id = m.id)';
const FLAG_COLUMNS: Record<StateFlag, string> = { pinned: 'pinned', muted: 'muted', silenced: 'silenced' };
const DEADLOCK_RETRIES = 5;
const ENSURED_MAX = 100_000;

function toMessage(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    seq: Number(row.seq),
    senderId: String(row.sender_id),
    type: row.type as MessageType,
    content: row.content === null ? null : (JSON.parse(row.content) as Record<string, unknown>),
    clientMsgId: row.client_msg_id,
    createdAt: new Date(row.created_at),
    status: row.status,
  };
}

function defaultState(userId: string, conversationId: string): ConversationState {
  return { userId, conversationId, readSeq: 0, clearedSeq: 0, pinned: false, muted: false, silenced: false };
}

function toState(row: StateRow): ConversationState {
  return {
    userId: String(row.user_id),
    conversationId: row.conversation_id,
    readSeq: Number(row.read_seq),
    clearedSeq: Number(row.cleared_seq),
    pinned: Boolean(row.pinned),
    muted: Boolean(row.muted),
    silenced: Boolean(row.silenced),
  };
}

/**
 * Messages in MySQL/MariaDB. Seq allocation: in one transaction the conversation's counter row is
 * incremented (its row lock serialises concurrent senders, on every instance), read back and the message
 * inserted; any failure rolls both back, so a seq is never lost. Under load, appends that arrive together
 * share one such transaction (AppendBatcher: group commit).
 */
export class MysqlMessageStore implements MessageStore {
  private readonly batcher: AppendBatcher;
  // Conversations whose participants' state rows this process has already made sure of. Those rows are
  // never deleted, so once is enough; bounded so a long-lived process does not grow without limit.
  private readonly ensured = new Set<string>();
  private mutedWaiting = new Map<
    string,
    Array<{ resolve: (v: string[]) => void; reject: (e: unknown) => void }>
  >();
  private mutedReading = false;

  constructor(
    private readonly pool: Pool,
    batch: AppendBatchOptions = DEFAULT_APPEND_BATCH,
  ) {
    this.batcher = new AppendBatcher(
      pool,
      (input) => this.appendOne(input),
      (inputs) => this.findManyByClientMsgId(inputs),
      batch,
    );
  }

  async append(input: NewMessage): Promise<AppendResult> {
    if (input.participants?.length) await this.ensureParticipants(input.conversationId, input.participants);
    return this.batcher.append(input);
  }

  private async ensureParticipants(conversationId: string, participants: readonly string[]): Promise<void> {
    const key = `${conversationId}|${participants.join(',')}`;
    if (this.ensured.has(key)) return;
    await this.pool.query(
      `INSERT IGNORE INTO user_conversations (user_id, conversation_id) VALUES ${participants
        .map(() => '(?, ?)')
        .join(', ')}`,
      participants.flatMap((u) => [u, conversationId]),
    );
    if (this.ensured.size >= ENSURED_MAX) this.ensured.clear();
    this.ensured.add(key);
  }

  /** One message in its own transaction: the path of a lone message and of a batch that failed. */
  private async appendOne(input: NewMessage): Promise<AppendResult> {
    const id = newId();
    const content = JSON.stringify(input.content);
    for (let attempt = 0; ; attempt++) {
      try {
        return await withTransaction(this.pool, async (conn) => {
          await conn.query(
            `INSERT INTO conversations (id, last_seq, last_at) VALUES (?, 1, ?)
             ON DUPLICATE KEY UPDATE last_seq = last_seq + 1, last_at = GREATEST(last_at, VALUES(last_at))`,
            [input.conversationId, new Date()],
          );
          const [rows] = await conn.query<RowDataPacket[]>(
            'SELECT last_seq FROM conversations WHERE id = ?',
            [input.conversationId],
          );
          const seq = Number(rows[0].last_seq);
          // Taken while holding the counter lock, so createdAt follows seq order within a conversation.
          const createdAt = new Date();
          await conn.query(
            `INSERT INTO messages (id, conversation_id, seq, sender_id, type, content, client_msg_id, status, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'normal', ?)`,
            [
              id,
              input.conversationId,
              seq,
              input.senderId,
              input.type,
              content,
              input.clientMsgId,
              createdAt,
            ],
          );
          const message: StoredMessage = {
            id,
            conversationId: input.conversationId,
            seq,
            senderId: input.senderId,
            type: input.type,
            content: input.content,
            clientMsgId: input.clientMsgId,
            createdAt,
            status: 'normal',
          };
          return { message, existing: false };
        });
      } catch (err) {
        if (isDuplicateKey(err)) {
          // A concurrent request with the same clientMsgId committed first; ours rolled back, counter included.
          const winner = await this.findByClientMsgId(input.senderId, input.clientMsgId);
          if (winner) return alreadyStored(input, winner);
        }
        if (isDeadlock(err) && attempt < DEADLOCK_RETRIES) continue;
        throw err;
      }
    }
  }

  async findById(id: string): Promise<StoredMessage | null> {
    const [rows] = await this.pool.query<MessageRow[]>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ?`,
      [id],
    );
    return rows.length ? toMessage(rows[0]) : null;
  }

  private async findManyByClientMsgId(inputs: NewMessage[]): Promise<Map<string, StoredMessage>> {
    if (!inputs.length) return new Map();
    const [rows] = await this.pool.query<MessageRow[]>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE ${inputs.map(() => '(sender_id = ? AND client_msg_id = ?)').join(' OR ')}`,
      inputs.flatMap((m) => [m.senderId, m.clientMsgId]),
    );
    return new Map(rows.map((r) => [batchKey(String(r.sender_id), r.client_msg_id), toMessage(r)]));
  }

  async findByClientMsgId(senderId: string, clientMsgId: string): Promise<StoredMessage | null> {
    const [rows] = await this.pool.query<MessageRow[]>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE sender_id = ? AND client_msg_id = ?`,
      [senderId, clientMsgId],
    );
    return rows.length ? toMessage(rows[0]) : null;
  }

  async page(conversationId: string, q: PageQuery): Promise<StoredMessage[]> {
    const where = ['m.conversation_id = ?'];
    const params: unknown[] = [conversationId];
    if (q.viewerId) {
      // The viewer's delete-with-history marker, read in the same statement (MariaDB evaluates this constant
      // subquery first and uses it in the range on (conversation_id, seq)): one round trip per page.
      where.push(
        'm.seq > COALESCE((SELECT uc.cleared_seq FROM user_conversations uc WHERE uc.user_id = ? AND uc.conversation_id = ?), 0)',
      );
      params.push(q.viewerId, conversationId);
      where.push(NOT_HIDDEN);
      params.push(q.viewerId);
    }
    let ascending = false;
    if (q.afterSeq !== undefined) {
      where.push('m.seq > ?');
      params.push(q.afterSeq);
      ascending = true;
    } else if (q.beforeSeq !== undefined) {
      where.push('m.seq < ?');
      params.push(q.beforeSeq);
    }
    params.push(q.limit);
    const [rows] = await this.pool.query<MessageRow[]>(
      `SELECT ${M_COLUMNS} FROM messages m WHERE ${where.join(' AND ')}
       ORDER BY m.seq ${ascending ? 'ASC' : 'DESC'} LIMIT ?`,
      params,
    );
    const list = rows.map(toMessage);
    return ascending ? list : list.reverse();
  }

  async recall(id: string): Promise<StoredMessage | null> {
    await this.pool.query(
      `UPDATE messages SET status = 'recalled', content = NULL, recalled_at = COALESCE(recalled_at, ?) WHERE id = ?`,
      [new Date(), id],
    );
    return this.findById(id);
  }

  async hideForUser(userId: string, message: StoredMessage): Promise<void> {
    await this.pool.query(
      'INSERT IGNORE INTO message_hides (user_id, message_id, conversation_id, seq) VALUES (?, ?, ?, ?)',
      [userId, message.id, message.conversationId, message.seq],
    );
  }

  async lastSeq(conversationId: string): Promise<number> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT last_seq FROM conversations WHERE id = ?', [
      conversationId,
    ]);
    return rows.length ? Number(rows[0].last_seq) : 0;
  }

  async getState(userId: string, conversationId: string): Promise<ConversationState> {
    const [rows] = await this.pool.query<StateRow[]>(
      'SELECT * FROM user_conversations WHERE user_id = ? AND conversation_id = ?',
      [userId, conversationId],
    );
    return rows.length ? toState(rows[0]) : defaultState(userId, conversationId);
  }

  async markRead(
    userId: string,
    conversationId: string,
    seq: number,
  ): Promise<{ readSeq: number; moved: boolean }> {
    const before = await this.getState(userId, conversationId);
    if (seq <= before.readSeq) return { readSeq: before.readSeq, moved: false };
    await this.pool.query(
      `INSERT INTO user_conversations (user_id, conversation_id, read_seq) VALUES (?, ?, ?)
       ON DUPLICATE KEY UPDATE read_seq = GREATEST(read_seq, VALUES(read_seq))`,
      [userId, conversationId, seq],
    );
    const after = await this.getState(userId, conversationId);
    return { readSeq: after.readSeq, moved: after.readSeq > before.readSeq };
  }

  async setFlag(userId: string, conversationId: string, flag: StateFlag, value: boolean): Promise<void> {
    const column = FLAG_COLUMNS[flag];
    await this.pool.query(
      `INSERT INTO user_conversations (user_id, conversation_id, ${column}) VALUES (?, ?, ?)
       ON DUPLICATE KEY UPDATE ${column} = VALUES(${column})`,
      [userId, conversationId, value ? 1 : 0],
    );
  }

  async mutedAmong(conversationId: string, userIds: readonly string[]): Promise<Set<string>> {
    if (!userIds.length) return new Set();
    const muted = await new Promise<string[]>((resolve, reject) => {
      const waiters = this.mutedWaiting.get(conversationId) ?? [];
      waiters.push({ resolve, reject });
      this.mutedWaiting.set(conversationId, waiters);
      void this.readMuted();
    });
    const wanted = new Set(userIds);
    return new Set(muted.filter((u) => wanted.has(u)));
  }

  /**
   * One query for the mutes of every conversation asked about meanwhile (a push asks once per message). A
   * lookup that arrives while a query runs waits for the next one, so it still reads after it was asked.
   */
  private async readMuted(): Promise<void> {
    if (this.mutedReading || !this.mutedWaiting.size) return;
    this.mutedReading = true;
    const waiting = this.mutedWaiting;
    this.mutedWaiting = new Map();
    try {
      const [rows] = await this.pool.query<RowDataPacket[]>(
        'SELECT conversation_id, user_id FROM user_conversations WHERE conversation_id IN (?) AND muted = 1',
        [[...waiting.keys()]],
      );
      const byConversation = new Map<string, string[]>();
      for (const r of rows) {
        const list = byConversation.get(String(r.conversation_id)) ?? [];
        list.push(String(r.user_id));
        byConversation.set(String(r.conversation_id), list);
      }
      for (const [id, waiters] of waiting) for (const w of waiters) w.resolve(byConversation.get(id) ?? []);
    } catch (err) {
      for (const waiters of waiting.values()) for (const w of waiters) w.reject(err);
    } finally {
      this.mutedReading = false;
      void this.readMuted();
    }
  }

  async join(userId: string, conversationId: string): Promise<void> {
    await this.pool.query('INSERT IGNORE INTO user_conversations (user_id, conversation_id) VALUES (?, ?)', [
      userId,
      conversationId,
    ]);
  }

  async mutedOf(conversationId: string, userIds: readonly string[]): Promise<Set<string>> {
    if (!userIds.length) return new Set();
    // A range of ix_user_conversations_muted (conversation_id, muted, user_id) per id.
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT user_id FROM user_conversations WHERE conversation_id = ? AND muted = 1 AND user_id IN (?)',
      [conversationId, userIds],
    );
    return new Set(rows.map((r) => String(r.user_id)));
  }

  async clearHistory(userId: string, conversationId: string): Promise<void> {
    const last = await this.lastSeq(conversationId);
    await this.pool.query(
      `INSERT INTO user_conversations (user_id, conversation_id, read_seq, cleared_seq) VALUES (?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE cleared_seq = GREATEST(cleared_seq, VALUES(cleared_seq)),
                               read_seq = GREATEST(read_seq, VALUES(read_seq))`,
      [userId, conversationId, last, last],
    );
  }

  async summaries(
    userId: string,
    alsoConsider: readonly string[],
    query: SummaryQuery = {},
  ): Promise<ConversationSummary[]> {
    const [stateRows] = await this.pool.query<StateRow[]>(
      'SELECT * FROM user_conversations WHERE user_id = ?',
      [userId],
    );
    const states = new Map(stateRows.map((r) => [r.conversation_id, toState(r)]));
    const keep = query.keep;
    let ids = [...new Set([...states.keys(), ...alsoConsider])];
    if (keep) ids = ids.filter((id) => keep(id));
    if (!ids.length) return [];
    // The order needs only the counter rows and the states; the rest is read for the page alone.
    const [convRows] = await this.pool.query<RowDataPacket[]>(
      'SELECT id, last_seq, last_at FROM conversations WHERE id IN (?) AND last_seq > 0',
      [ids],
    );
    const convs = pageSummaries(
      convRows
        .map((r) => {
          const state = states.get(String(r.id)) ?? defaultState(userId, String(r.id));
          return {
            id: String(r.id),
            conversationId: String(r.id),
            pinned: state.pinned,
            lastActivityAt: new Date(r.last_at),
            lastSeq: Number(r.last_seq),
            state,
          };
        })
        .filter((c) => c.lastSeq > c.state.clearedSeq),
      query,
    );
    if (!convs.length) return [];

    // The last message the user still sees: the conversation's last one unless they hid it; only for the
    // lines whose last message is hidden, a second query finds the latest visible one (after cleared_seq).
    const [lastRows] = await this.pool.query<MessageRow[]>(
      `SELECT ${M_COLUMNS} FROM messages m
        WHERE (${convs.map(() => '(m.conversation_id = ? AND m.seq = ?)').join(' OR ')}) AND ${NOT_HIDDEN}`,
      [...convs.flatMap((c) => [c.id, c.lastSeq]), userId],
    );
    const lastById = new Map(lastRows.map((r) => [r.conversation_id, toMessage(r)]));
    const hiddenLast = convs.filter((c) => !lastById.has(c.id));
    if (hiddenLast.length) {
      const [visibleRows] = await this.pool.query<MessageRow[]>(
        hiddenLast
          .map(
            () => `(SELECT ${M_COLUMNS} FROM messages m WHERE m.conversation_id = ? AND m.seq > ? AND ${NOT_HIDDEN}
                    ORDER BY m.seq DESC LIMIT 1)`,
          )
          .join(' UNION ALL '),
        hiddenLast.flatMap((c) => [c.id, c.state.clearedSeq, userId]),
      );
      for (const r of visibleRows) lastById.set(r.conversation_id, toMessage(r));
    }
    // Unread: lastSeq - readSeq, less the user's own messages and the others' messages they hid after readSeq.
    const pending = convs.filter((c) => c.lastSeq > c.state.readSeq);
    const own = new Map<string, number>();
    const hidden = new Map<string, number>();
    if (pending.length) {
      const [ownRows] = await this.pool.query<RowDataPacket[]>(
        `SELECT conversation_id, COUNT(*) AS n FROM messages
         WHERE ${pending.map(() => '(conversation_id = ? AND sender_id = ? AND seq > ?)').join(' OR ')}
         GROUP BY conversation_id`,
        pending.flatMap((c) => [c.id, userId, c.state.readSeq]),
      );
      for (const r of ownRows) own.set(String(r.conversation_id), Number(r.n));
      const [hiddenRows] = await this.pool.query<RowDataPacket[]>(
        `SELECT h.conversation_id, COUNT(*) AS n FROM message_hides h JOIN messages m ON m.id = h.message_id
          WHERE h.user_id = ? AND (${pending.map(() => '(h.conversation_id = ? AND h.seq > ?)').join(' OR ')})
            AND m.sender_id <> ?
          GROUP BY h.conversation_id`,
        [userId, ...pending.flatMap((c) => [c.id, c.state.readSeq]), userId],
      );
      for (const r of hiddenRows) hidden.set(String(r.conversation_id), Number(r.n));
    }
    return convs.map((c) => ({
      conversationId: c.id,
      lastSeq: c.lastSeq,
      lastActivityAt: c.lastActivityAt,
      lastMessage: lastById.get(c.id) ?? null,
      readSeq: c.state.readSeq,
      unreadCount: Math.max(0, c.lastSeq - c.state.readSeq - (own.get(c.id) ?? 0) - (hidden.get(c.id) ?? 0)),
      pinned: c.state.pinned,
      muted: c.state.muted,
    }));
  }
}

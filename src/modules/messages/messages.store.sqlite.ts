import { isUniqueViolation, jsonList, toDate, type SqliteDatabase } from '../../infra/sqlite';
import { newId } from '../../shared/ids';
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

interface MessageRow {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string;
  type: string;
  content: string | null;
  client_msg_id: string;
  status: 'normal' | 'recalled';
  created_at: number;
}

interface StateRow {
  user_id: string;
  conversation_id: string;
  read_seq: number;
  cleared_seq: number;
  pinned: number;
  muted: number;
  silenced: number;
}

interface Pending {
  input: NewMessage;
  resolve: (result: AppendResult) => void;
  reject: (err: unknown) => void;
}

const MESSAGE_COLUMNS =
  'id, conversation_id, seq, sender_id, type, content, client_msg_id, status, created_at';
const M_COLUMNS = MESSAGE_COLUMNS.split(', ')
  .map((c) => `m.${c}`)
  .join(', ');
/** Leaves out the messages that the user (the parameter) hid for themself. */
const NOT_HIDDEN = 'NOT EXISTS (SELECT 1 FROM message_hides h WHERE h.user_id = ? AND h.message_id = m.id)';
const FLAG_COLUMNS: Record<StateFlag, string> = { pinned: 'pinned', muted: 'muted', silenced: 'silenced' };
const STATE_COLUMNS = 'user_id, conversation_id, read_seq, cleared_seq, pinned, muted, silenced';
/** Most appends committed by one transaction. */
const MAX_BATCH = 500;

function toMessage(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    seq: row.seq,
    senderId: row.sender_id,
    type: row.type as MessageType,
    content: row.content === null ? null : (JSON.parse(row.content) as Record<string, unknown>),
    clientMsgId: row.client_msg_id,
    createdAt: toDate(row.created_at),
    status: row.status,
  };
}

function defaultState(userId: string, conversationId: string): ConversationState {
  return { userId, conversationId, readSeq: 0, clearedSeq: 0, pinned: false, muted: false, silenced: false };
}

function toState(row: StateRow): ConversationState {
  return {
    userId: row.user_id,
    conversationId: row.conversation_id,
    readSeq: row.read_seq,
    clearedSeq: row.cleared_seq,
    pinned: Boolean(row.pinned),
    muted: Boolean(row.muted),
    silenced: Boolean(row.silenced),
  };
}

/**
 * Messages in the embedded SQLite database, with the MySQL engine's tables and rules: a conversation's
 * counter row is incremented and the message inserted in one transaction, so a seq is never lost or shared.
 * Group commit: the appends that arrive within one turn of the event loop are written by one transaction,
 * each in a savepoint of its own (a repeated clientMsgId rolls back only its message and counter step), and
 * every caller's promise settles once that transaction has committed.
 */
export class SqliteMessageStore implements MessageStore {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(private readonly db: SqliteDatabase) {}

  append(input: NewMessage): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length) {
      const batch = this.queue.splice(0, MAX_BATCH);
      const settled: Array<{ p: Pending; result?: AppendResult; error?: unknown }> = [];
      try {
        this.db
          .transaction(() => {
            for (const p of batch) {
              try {
                settled.push({ p, result: this.appendOne(p.input) });
              } catch (error) {
                settled.push({ p, error });
              }
            }
          })
          .immediate();
      } catch (err) {
        for (const p of batch) p.reject(err);
        continue;
      }
      for (const s of settled) {
        if (s.error !== undefined) s.p.reject(s.error);
        else s.p.resolve(s.result!);
      }
    }
  }

  /** One message in a savepoint of the batch's transaction. */
  private appendOne(input: NewMessage): AppendResult {
    try {
      return this.db.transaction(() => this.insert(input))();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // The sender already stored this clientMsgId (earlier, or earlier in this batch).
      const original = this.byClientMsgId(input.senderId, input.clientMsgId);
      if (!original) throw err;
      return alreadyStored(input, original);
    }
  }

  private insert(input: NewMessage): AppendResult {
    if (input.participants?.length) {
      const join = this.db.prepare(
        'INSERT OR IGNORE INTO user_conversations (user_id, conversation_id) VALUES (?, ?)',
      );
      for (const userId of input.participants) join.run(userId, input.conversationId);
    }
    const createdAt = Date.now();
    const { last_seq: seq } = this.db
      .prepare(
        `INSERT INTO conversations (id, last_seq, last_at) VALUES (?, 1, ?)
         ON CONFLICT (id) DO UPDATE SET last_seq = last_seq + 1, last_at = max(last_at, excluded.last_at)
         RETURNING last_seq`,
      )
      .get(input.conversationId, createdAt) as { last_seq: number };
    const id = newId();
    this.db
      .prepare(
        `INSERT INTO messages (id, conversation_id, seq, sender_id, type, content, client_msg_id, status, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'normal', ?)`,
      )
      .run(
        id,
        input.conversationId,
        seq,
        input.senderId,
        input.type,
        JSON.stringify(input.content),
        input.clientMsgId,
        createdAt,
      );
    return {
      message: {
        id,
        conversationId: input.conversationId,
        seq,
        senderId: input.senderId,
        type: input.type,
        content: input.content,
        clientMsgId: input.clientMsgId,
        createdAt: toDate(createdAt),
        status: 'normal',
      },
      existing: false,
    };
  }

  private byClientMsgId(senderId: string, clientMsgId: string): StoredMessage | null {
    const row = this.db
      .prepare(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE sender_id = ? AND client_msg_id = ?`)
      .get(senderId, clientMsgId) as MessageRow | undefined;
    return row ? toMessage(row) : null;
  }

  async findById(id: string): Promise<StoredMessage | null> {
    const row = this.db.prepare(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ?`).get(id) as
      MessageRow | undefined;
    return row ? toMessage(row) : null;
  }

  async findByClientMsgId(senderId: string, clientMsgId: string): Promise<StoredMessage | null> {
    return this.byClientMsgId(senderId, clientMsgId);
  }

  async page(conversationId: string, q: PageQuery): Promise<StoredMessage[]> {
    const where = ['m.conversation_id = ?'];
    const params: Array<string | number> = [conversationId];
    if (q.viewerId) {
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
    const rows = this.db
      .prepare(
        `SELECT ${M_COLUMNS} FROM messages m WHERE ${where.join(' AND ')}
         ORDER BY m.seq ${ascending ? 'ASC' : 'DESC'} LIMIT ?`,
      )
      .all(...params) as MessageRow[];
    const list = rows.map(toMessage);
    return ascending ? list : list.reverse();
  }

  async recall(id: string): Promise<StoredMessage | null> {
    this.db
      .prepare(
        `UPDATE messages SET status = 'recalled', content = NULL, recalled_at = COALESCE(recalled_at, ?) WHERE id = ?`,
      )
      .run(Date.now(), id);
    return this.findById(id);
  }

  async hideForUser(userId: string, message: StoredMessage): Promise<void> {
    this.db
      .prepare(
        'INSERT OR IGNORE INTO message_hides (user_id, message_id, conversation_id, seq) VALUES (?, ?, ?, ?)',
      )
      .run(userId, message.id, message.conversationId, message.seq);
  }

  async lastSeq(conversationId: string): Promise<number> {
    return this.lastSeqOf(conversationId);
  }

  private lastSeqOf(conversationId: string): number {
    const row = this.db.prepare('SELECT last_seq FROM conversations WHERE id = ?').get(conversationId) as
      { last_seq: number } | undefined;
    return row ? row.last_seq : 0;
  }

  private state(userId: string, conversationId: string): ConversationState {
    const row = this.db
      .prepare(`SELECT ${STATE_COLUMNS} FROM user_conversations WHERE user_id = ? AND conversation_id = ?`)
      .get(userId, conversationId) as StateRow | undefined;
    return row ? toState(row) : defaultState(userId, conversationId);
  }

  async getState(userId: string, conversationId: string): Promise<ConversationState> {
    return this.state(userId, conversationId);
  }

  async markRead(
    userId: string,
    conversationId: string,
    seq: number,
  ): Promise<{ readSeq: number; moved: boolean }> {
    return this.db
      .transaction(() => {
        const before = this.state(userId, conversationId);
        if (seq <= before.readSeq) return { readSeq: before.readSeq, moved: false };
        this.db
          .prepare(
            `INSERT INTO user_conversations (user_id, conversation_id, read_seq) VALUES (?, ?, ?)
             ON CONFLICT (user_id, conversation_id) DO UPDATE SET read_seq = max(read_seq, excluded.read_seq)`,
          )
          .run(userId, conversationId, seq);
        return { readSeq: seq, moved: true };
      })
      .immediate();
  }

  async setFlag(userId: string, conversationId: string, flag: StateFlag, value: boolean): Promise<void> {
    const column = FLAG_COLUMNS[flag];
    this.db
      .prepare(
        `INSERT INTO user_conversations (user_id, conversation_id, ${column}) VALUES (?, ?, ?)
         ON CONFLICT (user_id, conversation_id) DO UPDATE SET ${column} = excluded.${column}`,
      )
      .run(userId, conversationId, value ? 1 : 0);
  }

  async mutedAmong(conversationId: string, userIds: readonly string[]): Promise<Set<string>> {
    return this.muted(conversationId, userIds);
  }

  async mutedOf(conversationId: string, userIds: readonly string[]): Promise<Set<string>> {
    return this.muted(conversationId, userIds);
  }

  /** One indexed lookup (conversation_id, muted, user_id): no round trips to save by batching here. */
  private muted(conversationId: string, userIds: readonly string[]): Set<string> {
    if (!userIds.length) return new Set();
    const rows = this.db
      .prepare(
        `SELECT user_id FROM user_conversations
          WHERE conversation_id = ? AND muted = 1 AND user_id IN (SELECT value FROM json_each(?))`,
      )
      .all(conversationId, jsonList(userIds.map(String))) as Array<{ user_id: string }>;
    return new Set(rows.map((r) => r.user_id));
  }

  async join(userId: string, conversationId: string): Promise<void> {
    this.db
      .prepare('INSERT OR IGNORE INTO user_conversations (user_id, conversation_id) VALUES (?, ?)')
      .run(userId, conversationId);
  }

  async clearHistory(userId: string, conversationId: string): Promise<void> {
    this.db
      .transaction(() => {
        const last = this.lastSeqOf(conversationId);
        this.db
          .prepare(
            `INSERT INTO user_conversations (user_id, conversation_id, read_seq, cleared_seq) VALUES (?, ?, ?, ?)
             ON CONFLICT (user_id, conversation_id) DO UPDATE SET
               cleared_seq = max(cleared_seq, excluded.cleared_seq), read_seq = max(read_seq, excluded.read_seq)`,
          )
          .run(userId, conversationId, last, last);
      })
      .immediate();
  }

  async summaries(
    userId: string,
    alsoConsider: readonly string[],
    query: SummaryQuery = {},
  ): Promise<ConversationSummary[]> {
    // One read transaction, so the page sees one state of the data.
    return this.db.transaction(() => this.summariesNow(userId, alsoConsider, query))();
  }

  private summariesNow(
    userId: string,
    alsoConsider: readonly string[],
    query: SummaryQuery,
  ): ConversationSummary[] {
    const stateRows = this.db
      .prepare(`SELECT ${STATE_COLUMNS} FROM user_conversations WHERE user_id = ?`)
      .all(userId) as StateRow[];
    const states = new Map(stateRows.map((r) => [r.conversation_id, toState(r)]));
    const keep = query.keep;
    let ids = [...new Set([...states.keys(), ...alsoConsider])];
    if (keep) ids = ids.filter((id) => keep(id));
    if (!ids.length) return [];
    const convRows = this.db
      .prepare(
        `SELECT id, last_seq, last_at FROM conversations
          WHERE id IN (SELECT value FROM json_each(?)) AND last_seq > 0`,
      )
      .all(jsonList(ids)) as Array<{ id: string; last_seq: number; last_at: number }>;
    const convs = pageSummaries(
      convRows
        .map((r) => {
          const state = states.get(r.id) ?? defaultState(userId, r.id);
          return {
            id: r.id,
            conversationId: r.id,
            pinned: state.pinned,
            lastActivityAt: toDate(r.last_at),
            lastSeq: r.last_seq,
            state,
          };
        })
        .filter((c) => c.lastSeq > c.state.clearedSeq),
      query,
    );
    if (!convs.length) return [];

    // The last message the user still sees: the latest one after cleared_seq that they did not hide (an
    // index walk back from the end of (conversation_id, seq), one statement per line of the page).
    const lastVisible = this.db.prepare(
      `SELECT ${M_COLUMNS} FROM messages m WHERE m.conversation_id = ? AND m.seq > ? AND ${NOT_HIDDEN}
        ORDER BY m.seq DESC LIMIT 1`,
    );
    // Unread: lastSeq - readSeq, less the user's own messages and the others' messages they hid after readSeq.
    const ownAfter = this.db.prepare(
      'SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ? AND sender_id = ? AND seq > ?',
    );
    const hiddenAfter = this.db.prepare(
      `SELECT COUNT(*) AS n FROM message_hides h JOIN messages m ON m.id = h.message_id
        WHERE h.user_id = ? AND h.conversation_id = ? AND h.seq > ? AND m.sender_id <> ?`,
    );
    return convs.map((c) => {
      const last = lastVisible.get(c.id, c.state.clearedSeq, userId) as MessageRow | undefined;
      let unread = 0;
      if (c.lastSeq > c.state.readSeq) {
        const own = (ownAfter.get(c.id, userId, c.state.readSeq) as { n: number }).n;
        const hidden = (hiddenAfter.get(userId, c.id, c.state.readSeq, userId) as { n: number }).n;
        unread = Math.max(0, c.lastSeq - c.state.readSeq - own - hidden);
      }
      return {
        conversationId: c.id,
        lastSeq: c.lastSeq,
        lastActivityAt: c.lastActivityAt,
        lastMessage: last ? toMessage(last) : null,
        readSeq: c.state.readSeq,
        unreadCount: unread,
        pinned: c.state.pinned,
        muted: c.state.muted,
      };
    });
  }
}

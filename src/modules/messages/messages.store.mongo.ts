import { setTimeout as sleep } from 'node:timers/promises';
import { Schema, type Connection, type Model } from 'mongoose';
import { isMongoDuplicateKey } from '../../infra/mongo';
import { newId } from '../../shared/ids';
import {
  alreadyStored,
  AppendInProgressError,
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

interface MessageDoc {
  _id: string;
  conversationId: string;
  seq: number;
  senderId: string;
  type: string;
  content?: Record<string, unknown> | null;
  clientMsgId: string;
  status: 'normal' | 'recalled';
  createdAt: Date;
  recalledAt?: Date | null;
}

interface ClaimDoc {
  _id: string;
  messageId: string;
  createdAt: Date;
}

interface StateDoc {
  _id: string;
  userId: string;
  conversationId: string;
  readSeq: number;
  clearedSeq: number;
  pinned: boolean;
  muted: boolean;
  silenced: boolean;
  updatedAt: Date;
}

interface HideDoc {
  _id: string;
  userId: string;
  conversationId: string;
  messageId: string;
  seq: number;
}

const messageSchema = new Schema<MessageDoc>(
  {
    _id: String,
    conversationId: { type: String, required: true },
    seq: { type: Number, required: true },
    senderId: { type: String, required: true },
    type: { type: String, required: true },
    content: { type: Schema.Types.Mixed, default: null },
    clientMsgId: { type: String, required: true },
    status: { type: String, required: true },
    createdAt: { type: Date, required: true },
    recalledAt: { type: Date, default: null },
  },
  { collection: 'messages', versionKey: false, minimize: false },
);
// Paging by seq, the last seq, and no two messages share a seq (the seq allocation relies on it).
messageSchema.index({ conversationId: 1, seq: 1 }, { unique: true, name: 'uq_conversation_seq' });
// Idempotent sends.
messageSchema.index({ senderId: 1, clientMsgId: 1 }, { unique: true, name: 'uq_sender_client' });
// Unread counts: the caller's own messages after readSeq.
messageSchema.index({ conversationId: 1, senderId: 1, seq: 1 }, { name: 'ix_conversation_sender_seq' });

const claimSchema = new Schema<ClaimDoc>(
  { _id: String, messageId: { type: String, required: true }, createdAt: { type: Date, required: true } },
  { collection: 'message_claims', versionKey: false },
);

const stateSchema = new Schema<StateDoc>(
  {
    _id: String,
    userId: { type: String, required: true },
    conversationId: { type: String, required: true },
    readSeq: { type: Number, default: 0 },
    clearedSeq: { type: Number, default: 0 },
    pinned: { type: Boolean, default: false },
    muted: { type: Boolean, default: false },
    silenced: { type: Boolean, default: false },
    updatedAt: { type: Date },
  },
  { collection: 'user_conversations', versionKey: false },
);
// The chat list.
stateSchema.index({ userId: 1 }, { name: 'ix_user' });
// Fan-out: who muted this conversation.
stateSchema.index({ conversationId: 1, muted: 1 }, { name: 'ix_conversation_muted' });

const hideSchema = new Schema<HideDoc>(
  {
    _id: String,
    userId: { type: String, required: true },
    conversationId: { type: String, required: true },
    messageId: { type: String, required: true },
    seq: { type: Number, required: true },
  },
  { collection: 'message_hides', versionKey: false },
);
hideSchema.index({ userId: 1, conversationId: 1, seq: 1 }, { name: 'ix_user_conversation_seq' });

/** A claim older than this whose message never appeared belongs to a request that died; it may be taken over. */
const STALE_CLAIM_MS = 30_000;
const CLAIM_WAIT_STEPS = 40;
const CLAIM_WAIT_MS = 50;
const INSERT_ATTEMPTS = 3;
const MAX_SEQ_CONFLICTS = 1000;

/** True when an insert failed on the unique (conversationId, seq) index. */
function isSeqTaken(err: unknown): boolean {
  if (!isMongoDuplicateKey(err)) return false;
  const e = err as { keyPattern?: Record<string, unknown>; message?: string };
  return Boolean(e.keyPattern?.seq !== undefined || e.message?.includes('uq_conversation_seq'));
}

function toMessage(doc: MessageDoc): StoredMessage {
  return {
    id: doc._id,
    conversationId: doc.conversationId,
    seq: doc.seq,
    senderId: doc.senderId,
    type: doc.type as MessageType,
    content: doc.status === 'recalled' ? null : (doc.content ?? null),
    clientMsgId: doc.clientMsgId,
    createdAt: new Date(doc.createdAt),
    status: doc.status,
  };
}

/** Our documents use string ids; the driver's insert signature assumes ObjectId. */
function raw<T>(doc: T): Record<string, never> {
  return doc as unknown as Record<string, never>;
}

function claimKey(senderId: string, clientMsgId: string): string {
  return `${senderId}:${clientMsgId}`;
}

function stateKey(userId: string, conversationId: string): string {
  return `${userId}|${conversationId}`;
}

function toState(userId: string, conversationId: string, doc: StateDoc | null): ConversationState {
  return {
    userId,
    conversationId,
    readSeq: doc?.readSeq ?? 0,
    clearedSeq: doc?.clearedSeq ?? 0,
    pinned: doc?.pinned ?? false,
    muted: doc?.muted ?? false,
    silenced: doc?.silenced ?? false,
  };
}

/**
 * Messages in MongoDB through mongoose. Only single-document atomic operations are used (no transactions,
 * no array or pipeline updates), so it runs on a standalone server as well as on a replica set.
 *
 * Seq allocation is optimistic and needs no counter: the next seq is the conversation's highest seq plus
 * one, and the insert itself claims it through the unique (conversationId, seq) index. When another
 * instance got there first the insert is refused and the allocation is retried. A seq exists only once a
 * message holds it, so a failed or interrupted insert can never leave a gap, and there is no counter that
 * could drift from the messages. Within one instance appends to a conversation are queued, so conflicts
 * only arise between instances. Idempotency is settled before any of this by inserting a claim document
 * keyed by (senderId, clientMsgId): only the request that creates the claim stores a message, a concurrent
 * retry waits for the original instead, and the claim is dropped once the message answers retries itself.
 */
export class MongoMessageStore implements MessageStore {
  private readonly messages: Model<MessageDoc>;
  private readonly claims: Model<ClaimDoc>;
  private readonly states: Model<StateDoc>;
  private readonly hides: Model<HideDoc>;
  private readonly tails = new Map<string, Promise<void>>();

  constructor(conn: Connection) {
    this.messages = conn.model<MessageDoc>('Message', messageSchema);
    this.claims = conn.model<ClaimDoc>('MessageClaim', claimSchema);
    this.states = conn.model<StateDoc>('UserConversation', stateSchema);
    this.hides = conn.model<HideDoc>('MessageHide', hideSchema);
  }

  /** Creates the collections' indexes (idempotent); call once at start. */
  async init(): Promise<void> {
    for (const model of [this.messages, this.claims, this.states, this.hides]) {
      await model.createCollection().catch(() => undefined);
      await model.createIndexes();
    }
  }

  async append(input: NewMessage): Promise<AppendResult> {
    const original = await this.findByClientMsgId(input.senderId, input.clientMsgId);
    if (original) return alreadyStored(input, original);
    if (input.participants?.length) {
      await Promise.all(input.participants.map((u) => this.ensureState(u, input.conversationId)));
    }
    const id = newId();
    const claimed = await this.claim(input, id);
    if (claimed) return claimed;
    const key = claimKey(input.senderId, input.clientMsgId);
    // The original may have finished (and dropped its claim) between our first lookup and our claim.
    const finished = await this.findByClientMsgId(input.senderId, input.clientMsgId);
    if (finished) {
      await this.claims.deleteOne({ _id: key, messageId: id });
      return alreadyStored(input, finished);
    }

    const doc: MessageDoc = {
      _id: id,
      conversationId: input.conversationId,
      seq: 0,
      senderId: input.senderId,
      type: input.type,
      content: input.content,
      clientMsgId: input.clientMsgId,
      status: 'normal',
      createdAt: new Date(),
      recalledAt: null,
    };
    try {
      await this.queue(input.conversationId, () => this.insertWithNextSeq(doc));
    } catch (err) {
      await this.claims.deleteOne({ _id: key, messageId: id }).catch(() => undefined);
      throw err;
    }
    // The message now answers retries by itself (first lookup above), so the claim is no longer needed.
    await this.claims.deleteOne({ _id: key, messageId: id }).catch(() => undefined);
    return { message: toMessage(doc), existing: false };
  }

  /**
   * Takes the (senderId, clientMsgId) claim. Returns null when this request owns it; otherwise the
   * original message once it is stored (`alreadyStored`), or throws AppendInProgressError while its owner is
   * still working.
   */
  private async claim(input: NewMessage, messageId: string): Promise<AppendResult | null> {
    const key = claimKey(input.senderId, input.clientMsgId);
    for (let takeover = 0; takeover < 2; takeover++) {
      try {
        await this.claims.collection.insertOne(raw<ClaimDoc>({ _id: key, messageId, createdAt: new Date() }));
        return null;
      } catch (err) {
        if (!isMongoDuplicateKey(err)) throw err;
      }
      for (let i = 0; i < CLAIM_WAIT_STEPS; i++) {
        const original = await this.findByClientMsgId(input.senderId, input.clientMsgId);
        if (original) return alreadyStored(input, original);
        await sleep(CLAIM_WAIT_MS);
      }
      const holder = await this.claims.findById(key).lean<ClaimDoc>();
      if (holder && Date.now() - new Date(holder.createdAt).getTime() < STALE_CLAIM_MS) break;
      if (holder) await this.claims.deleteOne({ _id: key, messageId: holder.messageId });
    }
    throw new AppendInProgressError();
  }

  /** Inserts `doc` under the conversation's next free seq (set on `doc`), retrying when another takes it. */
  private async insertWithNextSeq(doc: MessageDoc): Promise<void> {
    let conflicts = 0;
    for (let attempt = 1; ;) {
      doc.seq = (await this.lastSeq(doc.conversationId)) + 1;
      doc.createdAt = new Date();
      try {
        await this.messages.collection.insertOne(raw(doc));
        return;
      } catch (err) {
        // An earlier attempt of ours may have reached the server even though it reported a failure.
        const stored = await this.messages.findById(doc._id).lean<MessageDoc>();
        if (stored) {
          doc.seq = stored.seq;
          doc.createdAt = stored.createdAt;
          return;
        }
        if (isSeqTaken(err) && ++conflicts < MAX_SEQ_CONFLICTS) {
          await sleep(Math.floor(Math.random() * Math.min(conflicts, 10)));
          continue;
        }
        if (attempt++ >= INSERT_ATTEMPTS) throw err;
        await sleep(20 * attempt);
      }
    }
  }

  /** Runs `work` after every earlier queued work of the same conversation on this instance. */
  private queue<T>(conversationId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(conversationId) ?? Promise.resolve();
    const run = previous.then(work);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(conversationId, tail);
    void tail.then(() => {
      if (this.tails.get(conversationId) === tail) this.tails.delete(conversationId);
    });
    return run;
  }

  private async ensureState(userId: string, conversationId: string): Promise<void> {
    try {
      await this.states.updateOne(
        { _id: stateKey(userId, conversationId) },
        {
          $setOnInsert: {
            userId,
            conversationId,
            readSeq: 0,
            clearedSeq: 0,
            pinned: false,
            muted: false,
            silenced: false,
            updatedAt: new Date(),
          },
        },
        { upsert: true },
      );
    } catch (err) {
      if (!isMongoDuplicateKey(err)) throw err;
    }
  }

  async findById(id: string): Promise<StoredMessage | null> {
    const doc = await this.messages.findById(id).lean<MessageDoc>();
    return doc ? toMessage(doc) : null;
  }

  async findByClientMsgId(senderId: string, clientMsgId: string): Promise<StoredMessage | null> {
    const doc = await this.messages.findOne({ senderId, clientMsgId }).lean<MessageDoc>();
    return doc ? toMessage(doc) : null;
  }

  async page(conversationId: string, q: PageQuery): Promise<StoredMessage[]> {
    let floor = q.afterSeq ?? 0;
    let ceiling = q.beforeSeq ?? Number.MAX_SAFE_INTEGER;
    const ascending = q.afterSeq !== undefined;
    if (q.viewerId) {
      const state = await this.getState(q.viewerId, conversationId);
      floor = Math.max(floor, state.clearedSeq);
    }
    const out: StoredMessage[] = [];
    // Hidden messages are filtered here, so keep reading until the page is full or the range is exhausted.
    while (out.length < q.limit) {
      const want = q.limit - out.length;
      const docs = await this.messages
        .find({ conversationId, seq: { $gt: floor, $lt: ceiling } })
        .sort({ seq: ascending ? 1 : -1 })
        .limit(want)
        .lean<MessageDoc[]>();
      if (!docs.length) break;
      let visible = docs;
      if (q.viewerId) {
        const viewer = q.viewerId;
        const hidden = await this.hides
          .find({ _id: { $in: docs.map((d) => stateKey(viewer, d._id)) } })
          .lean<HideDoc[]>();
        const hiddenIds = new Set(hidden.map((h) => h.messageId));
        visible = docs.filter((d) => !hiddenIds.has(d._id));
      }
      out.push(...visible.map(toMessage));
      if (ascending) floor = docs[docs.length - 1].seq;
      else ceiling = docs[docs.length - 1].seq;
      if (docs.length < want) break;
    }
    return ascending ? out : out.reverse();
  }

  async recall(id: string): Promise<StoredMessage | null> {
    await this.messages.updateOne(
      { _id: id, status: 'normal' },
      { $set: { status: 'recalled', recalledAt: new Date() }, $unset: { content: 1 } },
    );
    return this.findById(id);
  }

  async hideForUser(userId: string, message: StoredMessage): Promise<void> {
    try {
      await this.hides.collection.insertOne(
        raw<HideDoc>({
          _id: stateKey(userId, message.id),
          userId,
          conversationId: message.conversationId,
          messageId: message.id,
          seq: message.seq,
        }),
      );
    } catch (err) {
      if (!isMongoDuplicateKey(err)) throw err;
    }
  }

  async lastSeq(conversationId: string): Promise<number> {
    return (await this.lastMessage(conversationId))?.seq ?? 0;
  }

  private async lastMessage(conversationId: string): Promise<MessageDoc | null> {
    return this.messages.findOne({ conversationId }).sort({ seq: -1 }).lean<MessageDoc>();
  }

  async getState(userId: string, conversationId: string): Promise<ConversationState> {
    const doc = await this.states.findById(stateKey(userId, conversationId)).lean<StateDoc>();
    return toState(userId, conversationId, doc);
  }

  async markRead(
    userId: string,
    conversationId: string,
    seq: number,
  ): Promise<{ readSeq: number; moved: boolean }> {
    const moved = await this.raise(userId, conversationId, 'readSeq', seq);
    const state = await this.getState(userId, conversationId);
    return { readSeq: state.readSeq, moved };
  }

  /** Sets a numeric marker to `value` only when that moves it forward (a conditional $set instead of $max). */
  private async raise(
    userId: string,
    conversationId: string,
    field: 'readSeq' | 'clearedSeq',
    value: number,
  ): Promise<boolean> {
    if (value <= 0) return false;
    await this.ensureState(userId, conversationId);
    const res = await this.states.updateOne(
      { _id: stateKey(userId, conversationId), [field]: { $lt: value } },
      { $set: { [field]: value, updatedAt: new Date() } },
    );
    return res.modifiedCount > 0;
  }

  async setFlag(userId: string, conversationId: string, flag: StateFlag, value: boolean): Promise<void> {
    await this.ensureState(userId, conversationId);
    await this.states.updateOne(
      { _id: stateKey(userId, conversationId) },
      { $set: { [flag]: value, updatedAt: new Date() } },
    );
  }

  async mutedAmong(conversationId: string, userIds: readonly string[]): Promise<Set<string>> {
    if (!userIds.length) return new Set();
    const docs = await this.states.find({ conversationId, muted: true }, { userId: 1 }).lean<StateDoc[]>();
    const wanted = new Set(userIds);
    return new Set(docs.map((d) => d.userId).filter((u) => wanted.has(u)));
  }

  async mutedOf(conversationId: string, userIds: readonly string[]): Promise<Set<string>> {
    if (!userIds.length) return new Set();
    const docs = await this.states
      .find({ _id: { $in: userIds.map((u) => stateKey(u, conversationId)) }, muted: true }, { userId: 1 })
      .lean<StateDoc[]>();
    return new Set(docs.map((d) => d.userId));
  }

  async join(userId: string, conversationId: string): Promise<void> {
    await this.ensureState(userId, conversationId);
  }

  async clearHistory(userId: string, conversationId: string): Promise<void> {
    const last = await this.lastSeq(conversationId);
    await this.raise(userId, conversationId, 'clearedSeq', last);
    await this.raise(userId, conversationId, 'readSeq', last);
  }

  async summaries(
    userId: string,
    alsoConsider: readonly string[],
    query: SummaryQuery = {},
  ): Promise<ConversationSummary[]> {
    const stateDocs = await this.states.find({ userId }).lean<StateDoc[]>();
    const states = new Map(stateDocs.map((d) => [d.conversationId, toState(userId, d.conversationId, d)]));
    const keep = query.keep;
    let ids = [...new Set([...states.keys(), ...alsoConsider])];
    if (keep) ids = ids.filter((id) => keep(id));
    if (!ids.length) return [];
    // One indexed lookup per conversation: its highest seq is its last message, whose time orders the list.
    // Unread counts are then counted for the page alone.
    const lasts = await Promise.all(ids.map((id) => this.lastMessage(id)));
    const convs = pageSummaries(
      lasts
        .filter((d): d is MessageDoc => d !== null)
        .map((d) => {
          const state = states.get(d.conversationId) ?? toState(userId, d.conversationId, null);
          return {
            id: d.conversationId,
            conversationId: d.conversationId,
            pinned: state.pinned,
            lastActivityAt: new Date(d.createdAt),
            lastSeq: d.seq,
            last: d,
            state,
          };
        })
        .filter((c) => c.lastSeq > c.state.clearedSeq),
      query,
    );
    if (!convs.length) return [];
    const [lastVisible, own, hidden] = await Promise.all([
      this.lastVisible(userId, convs),
      Promise.all(
        convs.map((c) =>
          c.lastSeq > c.state.readSeq
            ? this.messages.countDocuments({
                conversationId: c.id,
                senderId: userId,
                seq: { $gt: c.state.readSeq },
              })
            : Promise.resolve(0),
        ),
      ),
      this.hiddenUnread(
        userId,
        convs.filter((c) => c.lastSeq > c.state.readSeq),
      ),
    ]);
    return convs.map((c, i) => ({
      conversationId: c.id,
      lastSeq: c.lastSeq,
      lastActivityAt: c.lastActivityAt,
      lastMessage: lastVisible.get(c.id) ?? null,
      readSeq: c.state.readSeq,
      // Unread: lastSeq - readSeq, less the user's own messages and the others' messages they hid after it.
      unreadCount: Math.max(0, c.lastSeq - c.state.readSeq - own[i] - (hidden.get(c.id) ?? 0)),
      pinned: c.state.pinned,
      muted: c.state.muted,
    }));
  }

  /**
   * The last message the user still sees per conversation: its last one unless they hid it (one lookup of
   * the hides for all of them); otherwise the latest visible one after their cleared seq, or none.
   */
  private async lastVisible(
    userId: string,
    convs: Array<{ id: string; last: MessageDoc }>,
  ): Promise<Map<string, StoredMessage>> {
    const hidden = await this.hides
      .find({ _id: { $in: convs.map((c) => stateKey(userId, c.last._id)) } }, { messageId: 1 })
      .lean<HideDoc[]>();
    const hiddenIds = new Set(hidden.map((h) => h.messageId));
    const out = new Map<string, StoredMessage>();
    await Promise.all(
      convs.map(async (c) => {
        if (!hiddenIds.has(c.last._id)) out.set(c.id, toMessage(c.last));
        else {
          const [visible] = await this.page(c.id, { limit: 1, viewerId: userId });
          if (visible) out.set(c.id, visible);
        }
      }),
    );
    return out;
  }

  /** Per conversation, how many messages of others after the user's readSeq the user hid. */
  private async hiddenUnread(
    userId: string,
    convs: Array<{ id: string; state: ConversationState }>,
  ): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (!convs.length) return counts;
    const hides = await this.hides
      .find({
        $or: convs.map((c) => ({ userId, conversationId: c.id, seq: { $gt: c.state.readSeq } })),
      })
      .lean<HideDoc[]>();
    if (!hides.length) return counts;
    const others = await this.messages
      .find({ _id: { $in: hides.map((h) => h.messageId) }, senderId: { $ne: userId } }, { conversationId: 1 })
      .lean<MessageDoc[]>();
    for (const m of others) counts.set(m.conversationId, (counts.get(m.conversationId) ?? 0) + 1);
    return counts;
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import { Schema, type Connection, type Model } from 'mongoose';
import { isMongoDuplicateKey } from '../../infra/mongo';
import { newId } from '../../shared/ids';
import {
  AppendInProgressError,
  sortSummaries,
  type AppendResult,
  type ConversationState,
  type ConversationSummary,
  type MessageStore,
  type MessageType,
  type NewMessage,
  type PageQuery,
  type StateFlag,
  type StoredMessage,
} from './messages.store';

interface ConversationDoc {
  _id: string;
  lastSeq: number;
  lastAt: Date;
}

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

const conversationSchema = new Schema<ConversationDoc>(
  { _id: String, lastSeq: { type: Number, required: true }, lastAt: { type: Date, required: true } },
  { collection: 'conversations', versionKey: false },
);

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
// Paging by seq, and no two messages share a seq.
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
 * Seq allocation: `$inc` on the conversation's counter document hands out each seq exactly once. A gap
 * could appear only if the message insert that follows failed, so everything that can make it fail is
 * ruled out beforehand: idempotency is settled first by inserting a claim document keyed by
 * (senderId, clientMsgId) — only the request that creates the claim allocates a seq, a concurrent retry
 * waits for the original instead, and the claim is dropped once the message can answer retries itself — and
 * the message's own unique keys (its fresh id, the just-allocated seq) cannot collide. Transient write failures are retried; only losing the database for good between the two
 * writes can still leave a seq unused, which readers paging by seq ranges tolerate.
 */
export class MongoMessageStore implements MessageStore {
  private readonly conversations: Model<ConversationDoc>;
  private readonly messages: Model<MessageDoc>;
  private readonly claims: Model<ClaimDoc>;
  private readonly states: Model<StateDoc>;
  private readonly hides: Model<HideDoc>;

  constructor(conn: Connection) {
    this.conversations = conn.model<ConversationDoc>('Conversation', conversationSchema);
    this.messages = conn.model<MessageDoc>('Message', messageSchema);
    this.claims = conn.model<ClaimDoc>('MessageClaim', claimSchema);
    this.states = conn.model<StateDoc>('UserConversation', stateSchema);
    this.hides = conn.model<HideDoc>('MessageHide', hideSchema);
  }

  /** Creates the collections' indexes (idempotent); call once at start. */
  async init(): Promise<void> {
    for (const model of [this.conversations, this.messages, this.claims, this.states, this.hides]) {
      await model.createCollection().catch(() => undefined);
      await model.createIndexes();
    }
  }

  async append(input: NewMessage): Promise<AppendResult> {
    const original = await this.findByClientMsgId(input.senderId, input.clientMsgId);
    if (original) return { message: original, existing: true };
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
      return { message: finished, existing: true };
    }

    const seq = await this.nextSeq(input.conversationId);
    const doc: MessageDoc = {
      _id: id,
      conversationId: input.conversationId,
      seq,
      senderId: input.senderId,
      type: input.type,
      content: input.content,
      clientMsgId: input.clientMsgId,
      status: 'normal',
      createdAt: new Date(),
      recalledAt: null,
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.messages.collection.insertOne(raw(doc));
        break;
      } catch (err) {
        // A duplicate means an earlier attempt of ours did reach the server.
        if (isMongoDuplicateKey(err) && (await this.findById(id))) break;
        if (attempt >= INSERT_ATTEMPTS) {
          await this.claims.deleteOne({ _id: key, messageId: id }).catch(() => undefined);
          throw err;
        }
        await sleep(20 * attempt);
      }
    }
    // The message now answers retries by itself (first lookup above), so the claim is no longer needed.
    await this.claims.deleteOne({ _id: key, messageId: id }).catch(() => undefined);
    return { message: toMessage(doc), existing: false };
  }

  /**
   * Takes the (senderId, clientMsgId) claim. Returns null when this request owns it; otherwise the
   * original message once it is stored, or throws AppendInProgressError while its owner is still working.
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
        if (original) return { message: original, existing: true };
        await sleep(CLAIM_WAIT_MS);
      }
      const holder = await this.claims.findById(key).lean<ClaimDoc>();
      if (holder && Date.now() - new Date(holder.createdAt).getTime() < STALE_CLAIM_MS) break;
      if (holder) await this.claims.deleteOne({ _id: key, messageId: holder.messageId });
    }
    throw new AppendInProgressError();
  }

  /** Hands out the conversation's next seq (creating the counter at 1). */
  private async nextSeq(conversationId: string): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const counter = await this.conversations
          .findOneAndUpdate(
            { _id: conversationId },
            { $inc: { lastSeq: 1 }, $set: { lastAt: new Date() } },
            { upsert: true, returnDocument: 'after' },
          )
          .lean<ConversationDoc>();
        return counter!.lastSeq;
      } catch (err) {
        // Two first messages may race to create the counter; the loser simply increments it.
        if (isMongoDuplicateKey(err) && attempt < 3) continue;
        throw err;
      }
    }
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

  private async findByClientMsgId(senderId: string, clientMsgId: string): Promise<StoredMessage | null> {
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
    const doc = await this.conversations.findById(conversationId).lean<ConversationDoc>();
    return doc?.lastSeq ?? 0;
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

  async join(userId: string, conversationId: string): Promise<void> {
    await this.ensureState(userId, conversationId);
  }

  async audience(conversationId: string): Promise<string[]> {
    const docs = await this.states.find({ conversationId, muted: false }, { userId: 1 }).lean<StateDoc[]>();
    return docs.map((d) => d.userId);
  }

  async clearHistory(userId: string, conversationId: string): Promise<void> {
    const last = await this.lastSeq(conversationId);
    await this.raise(userId, conversationId, 'clearedSeq', last);
    await this.raise(userId, conversationId, 'readSeq', last);
  }

  async summaries(userId: string, alsoConsider: readonly string[]): Promise<ConversationSummary[]> {
    const stateDocs = await this.states.find({ userId }).lean<StateDoc[]>();
    const states = new Map(stateDocs.map((d) => [d.conversationId, toState(userId, d.conversationId, d)]));
    const ids = [...new Set([...states.keys(), ...alsoConsider])];
    if (!ids.length) return [];
    const convDocs = await this.conversations
      .find({ _id: { $in: ids }, lastSeq: { $gt: 0 } })
      .lean<ConversationDoc[]>();
    const convs = convDocs
      .map((d) => ({
        id: d._id,
        lastSeq: d.lastSeq,
        lastAt: new Date(d.lastAt),
        state: states.get(d._id) ?? toState(userId, d._id, null),
      }))
      .filter((c) => c.lastSeq > c.state.clearedSeq);
    if (!convs.length) return [];
    const lastDocs = await this.messages
      .find({ $or: convs.map((c) => ({ conversationId: c.id, seq: c.lastSeq })) })
      .lean<MessageDoc[]>();
    const lastById = new Map(lastDocs.map((d) => [d.conversationId, toMessage(d)]));
    const own = await Promise.all(
      convs.map((c) =>
        c.lastSeq > c.state.readSeq
          ? this.messages.countDocuments({
              conversationId: c.id,
              senderId: userId,
              seq: { $gt: c.state.readSeq },
            })
          : Promise.resolve(0),
      ),
    );
    return sortSummaries(
      convs.map((c, i) => ({
        conversationId: c.id,
        lastSeq: c.lastSeq,
        lastActivityAt: c.lastAt,
        lastMessage: lastById.get(c.id) ?? null,
        readSeq: c.state.readSeq,
        unreadCount: Math.max(0, c.lastSeq - c.state.readSeq - own[i]),
        pinned: c.state.pinned,
        muted: c.state.muted,
      })),
    );
  }
}

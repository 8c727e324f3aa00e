import { decodeCursor, encodeCursor } from '../../shared/cursor';
import { toPage } from '../../shared/pagination';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../shared/errors';
import type { EventPublisher } from '../../shared/events';
import { newId } from '../../shared/ids';
import type { Logger } from '../../shared/logger';
import type { Limiter } from '../../shared/rate-limit';
import type { GroupRole } from '../groups';
import {
  parseConversationId,
  privateConversationId,
  WORLD_ID,
  type ConversationRef,
} from './conversation-id';
import { MessageAccess } from './messages.access';
import { contentView, normaliseContent } from './messages.content';
import type { MessagesEvents } from './messages.events';
import type { GroupDirectory, SocialPolicy, UploadAttachments, UserDirectory } from './messages.ports';
import type { MessageStore, MessageType, StoredMessage, SummaryPosition } from './messages.store';
import type { MessageView } from './messages.views';
export type { MessageView } from './messages.views';

/** One line of the chat list. */
export interface ConversationView {
  conversationId: string;
  kind: ConversationRef['kind'];
  peer: { id: string } | null;
  group: { id: string } | null;
  lastMessage: MessageView | null;
  lastSeq: number;
  readSeq: number;
  unreadCount: number;
  pinned: boolean;
  muted: boolean;
}

/** A validated send request (REST body or WS `send` frame data). */
export interface SendInput {
  conversationId: string;
  type: MessageType;
  content: Record<string, unknown>;
  clientMsgId: string;
}

/** Per-user limits of message sending and typing (REST and WS draw on the same budgets). */
export interface MessageLimits {
  /** Messages per user; RATE_LIMITED when over. */
  messages: Limiter;
  /** Typing events per user and conversation; extra ones are dropped quietly. */
  typing: Limiter;
}

export interface MessagesDeps {
  store: MessageStore;
  users: UserDirectory;
  logger: Logger;
  recallSeconds: number;
  worldEnabled: boolean;
  limits: MessageLimits;
  /** The current time in milliseconds (the recall window is measured with it); `Date.now` by default. */
  now?: () => number;
  /** The social graph's rules (friends and groups). */
  social: SocialPolicy;
  /** Groups for the chat list. */
  groups: GroupDirectory;
  /** Uploads that content.uploadId names. */
  uploads: UploadAttachments;
  /** Told what happened: the pushes to clients (and, next, federation) listen. */
  events: EventPublisher<MessagesEvents>;
}

/** Pages of history: ascending items, and the seq to pass as the next cursor (null at the end). */
export interface MessagePage {
  items: MessageView[];
  nextCursor: string | null;
}

/** Chat list lines per page when `?limit` is not given (at most 100, as for every list). */
export const CHAT_LIST_DEFAULT_LIMIT = 20;

/** The chat list cursor: the position of the last line of a page, `[pinned, ms, id]`. */
function encodeChatListCursor(p: SummaryPosition): string {
  return encodeCursor([p.pinned ? 1 : 0, p.lastActivityAt.getTime(), p.conversationId]);
}

/** Reads a chat list cursor; VALIDATION_FAILED (400) for anything no page handed out. */
function decodeChatListCursor(cursor: string): SummaryPosition {
  return decodeCursor(cursor, (value) =>
    Array.isArray(value) &&
    value.length === 3 &&
    (value[0] === 0 || value[0] === 1) &&
    Number.isSafeInteger(value[1]) &&
    (value[1] as number) >= 0 &&
    typeof value[2] === 'string' &&
    parseConversationId(value[2]) !== null
      ? { pinned: value[0] === 1, lastActivityAt: new Date(value[1] as number), conversationId: value[2] }
      : null,
  );
}

const RANK: Record<GroupRole, number> = { owner: 3, admin: 2, member: 1 };

/** A group role's rank; a former member ranks below every member. */
function rank(role: GroupRole | null): number {
  return role ? RANK[role] : 0;
}

/** Turns a stored message into the contract's object. */
export function toMessageView(m: StoredMessage): MessageView {
  return {
    id: m.id,
    conversationId: m.conversationId,
    seq: m.seq,
    senderId: m.senderId,
    type: m.type,
    content: m.status === 'recalled' ? null : contentView(m.type, m.content),
    clientMsgId: m.clientMsgId,
    createdAt: m.createdAt.toISOString(),
    status: m.status,
  };
}

/**
 * Sending, history, receipts, recall and the chat list. A message is checked against the rules, stored
 * (which assigns its seq), and only then published as `MessageStored`, which pushes it; a push failure never
 * undoes a stored message.
 */
export class MessagesService {
  private readonly access: MessageAccess;

  constructor(private readonly deps: MessagesDeps) {
    this.access = new MessageAccess(deps);
  }

  private get social(): SocialPolicy {
    return this.deps.social;
  }

  /** Parses a conversation id; CONVERSATION_NOT_FOUND when it is malformed or not canonical. */
  parse(conversationId: string): ConversationRef {
    const ref = parseConversationId(conversationId);
    if (!ref) throw new NotFoundError('Conversation not found', 'CONVERSATION_NOT_FOUND');
    return ref;
  }

  /**
   * Sends a message (REST and WS): rate limit, rules, store, push. `created` is false for an idempotent retry.
   * A WS send names its connection as `originConnectionId`: its `ack` carries the message, so the `message`
   * event goes to the sender's other devices only.
   */
  async send(
    senderId: string,
    input: SendInput,
    originConnectionId?: string,
  ): Promise<{ message: MessageView; created: boolean }> {
    await this.deps.limits.messages.consume(senderId);
    const ref = this.parse(input.conversationId);
    try {
      await this.assertCanSpeak(senderId, ref);
    } catch (err) {
      // A retry of a message that was stored before the rules changed still gets the original.
      const original = await this.deps.store.findByClientMsgId(senderId, input.clientMsgId);
      if (original && original.conversationId === ref.id)
        return { message: toMessageView(original), created: false };
      throw err;
    }
    const uploadId = input.content.uploadId;
    const content =
      typeof uploadId === 'string'
        ? await this.fillFromUpload(senderId, input.type, input.content, uploadId)
        : input.content;
    const { message, existing } = await this.deps.store.append({
      conversationId: ref.id,
      senderId,
      type: input.type,
      content: normaliseContent(input.type, content),
      clientMsgId: input.clientMsgId,
      participants: ref.kind === 'private' ? ref.userIds : [senderId],
    });
    // Before the push, so that whoever gets the message can fetch the upload; again on a retry, which
    // repairs a reference lost between the append and here.
    const storedUploadId = message.content?.uploadId;
    if (typeof storedUploadId === 'string') {
      await this.deps.uploads.attach(storedUploadId, message.id, message.conversationId);
    }
    const view = toMessageView(message);
    // A retry means the sender never saw the answer: the attempt that stored the message may have died
    // (a killed worker, a lost connection) before its push, so the retry pushes it again. Clients keep
    // one message per seq, so a second push changes nothing for those that had it.
    await this.deps.events.publish('MessageStored', {
      ref,
      message: view,
      created: !existing,
      originConnectionId,
    });
    return { message: view, created: !existing };
  }

  /**
   * The content with the fields the upload knows (url, size, mime, image size, duration, a file's name) filled
   * in; VALIDATION_FAILED when the upload is not the sender's or not of the message's type.
   */
  private async fillFromUpload(
    senderId: string,
    type: MessageType,
    content: Record<string, unknown>,
    uploadId: string,
  ): Promise<Record<string, unknown>> {
    const invalid = (message: string) =>
      new ValidationError('Request validation failed', [
        { field: 'content', message: `uploadId: ${message}` },
      ]);
    const upload = await this.deps.uploads.attachmentFor(senderId, uploadId);
    if (!upload) throw invalid('must be an upload of yours');
    if (type !== 'file' && upload.kind !== type) throw invalid(`is a ${upload.kind} upload, not ${type}`);
    const out: Record<string, unknown> = { ...content, url: upload.url, size: upload.size };
    if (type === 'image')
      Object.assign(out, { mime: upload.mime, width: upload.width, height: upload.height });
    if (type === 'file') Object.assign(out, { mime: upload.mime, name: content.name ?? upload.name });
    if (type === 'voice' || type === 'video') out.duration = upload.duration ?? content.duration ?? null;
    if (type === 'voice' && out.duration === null) {
      throw new ValidationError('Request validation failed', [
        { field: 'content', message: 'duration: is required (the upload does not state one)' },
      ]);
    }
    return out;
  }

  /** Whether the user can read the message now (see `MessageAccess.canReadMessage`). */
  canReadMessage(userId: string, messageId: string): Promise<boolean> {
    return this.access.canReadMessage(userId, messageId);
  }

  /** Throws the rule's code unless the user may send into the conversation. */
  async assertCanSpeak(userId: string, ref: ConversationRef): Promise<void> {
    if (ref.kind === 'private') {
      const peer = this.access.peerOf(userId, ref);
      await this.social.assertCanMessageUser(userId, peer);
    } else if (ref.kind === 'group') {
      await this.social.assertCanSpeakInGroup(userId, ref.groupId);
    } else {
      this.access.assertWorldOpen();
      const state = await this.deps.store.getState(userId, ref.id);
      if (state.silenced) throw new ForbiddenError('You are muted in the world channel', 'MUTED');
    }
  }

  /** Throws unless the user may read the conversation (a participant or member). */
  assertCanView(userId: string, ref: ConversationRef): Promise<void> {
    return this.access.assertCanView(userId, ref);
  }

  /** A page of history, ascending by seq; without a cursor the latest `limit`. */
  async history(
    userId: string,
    conversationId: string,
    q: { beforeSeq?: number; afterSeq?: number; limit: number },
  ): Promise<MessagePage> {
    const ref = this.parse(conversationId);
    await this.assertCanView(userId, ref);
    if (ref.kind === 'world') await this.deps.store.join(userId, ref.id);
    const items = await this.deps.store.page(ref.id, { ...q, viewerId: userId });
    let nextCursor: string | null = null;
    if (items.length === q.limit) {
      nextCursor =
        q.afterSeq !== undefined
          ? String(items[items.length - 1].seq)
          : items[0].seq > 1
            ? String(items[0].seq)
            : null;
    }
    return { items: items.map(toMessageView), nextCursor };
  }

  /** Moves the caller's read marker forward (clamped to the last seq) and tells the other members. */
  async markRead(userId: string, conversationId: string, seq: number): Promise<{ readSeq: number }> {
    const ref = this.parse(conversationId);
    await this.assertCanView(userId, ref);
    const last = await this.deps.store.lastSeq(ref.id);
    const { readSeq, moved } = await this.deps.store.markRead(userId, ref.id, Math.min(seq, last));
    if (moved) await this.deps.events.publish('ConversationRead', { ref, userId, seq: readSeq });
    return { readSeq };
  }

  /**
   * Tells the other members that the caller is typing (not in the world channel); past the typing limit of
   * the user and conversation, does nothing.
   */
  async typing(userId: string, conversationId: string): Promise<void> {
    if (!(await this.deps.limits.typing.tryConsume(`${userId}:${conversationId}`))) return;
    const ref = this.parse(conversationId);
    await this.assertCanSpeak(userId, ref);
    if (ref.kind === 'world') return;
    await this.deps.events.publish('UserTyping', { ref, userId });
  }

  /** Pins or unpins the conversation for the caller. */
  async setPinned(userId: string, conversationId: string, pinned: boolean): Promise<void> {
    const ref = this.parse(conversationId);
    await this.assertCanView(userId, ref);
    await this.deps.store.setFlag(userId, ref.id, 'pinned', pinned);
  }

  /** Mutes or unmutes the conversation's pushes for the caller. */
  async setMuted(userId: string, conversationId: string, muted: boolean): Promise<void> {
    const ref = this.parse(conversationId);
    await this.assertCanView(userId, ref);
    await this.deps.store.setFlag(userId, ref.id, 'muted', muted);
    await this.deps.events.publish('ConversationMuted', { ref, userId, muted });
  }

  /**
   * Recalls a message. Its sender may, within `recallSeconds` (RECALL_WINDOW_PASSED after). In a group, the
   * owner and admins may also recall at any time the messages of members below them: admins those of plain
   * members (and of former members), the owner those of admins too; nobody but the owner recalls the owner's.
   */
  async recall(userId: string, messageId: string): Promise<MessageView> {
    const message = await this.visibleMessage(userId, messageId);
    const ref = this.parse(message.conversationId);
    if (message.status === 'recalled') return toMessageView(message);
    await this.assertCanRecall(userId, message, ref);
    const recalled = await this.deps.store.recall(message.id);
    if (!recalled) throw new NotFoundError('Message not found', 'MESSAGE_NOT_FOUND');
    // Its readers lose the upload with the content (the recall check above already ends their access).
    await this.deps.uploads.detach(message.id).catch((err: unknown) => {
      this.deps.logger.warn({ err, messageId: message.id }, 'upload references not removed');
    });
    await this.deps.events.publish('MessageRecalled', {
      ref,
      messageId: message.id,
      seq: message.seq,
      actorId: userId,
    });
    return toMessageView(recalled);
  }

  private async assertCanRecall(userId: string, message: StoredMessage, ref: ConversationRef): Promise<void> {
    if (message.senderId === userId) {
      const now = this.deps.now ? this.deps.now() : Date.now();
      if (now - message.createdAt.getTime() >= this.deps.recallSeconds * 1000) {
        throw new ConflictError(
          `Messages can be recalled within ${this.deps.recallSeconds} seconds`,
          'RECALL_WINDOW_PASSED',
        );
      }
      return;
    }
    if (ref.kind === 'group') {
      const [mine, theirs] = await Promise.all([
        this.social.groupRole(ref.groupId, userId),
        this.social.groupRole(ref.groupId, message.senderId),
      ]);
      if ((mine === 'owner' || mine === 'admin') && rank(mine) > rank(theirs)) return;
    }
    throw new ForbiddenError(
      "Only the sender, or a group's owner or admin above the sender's role, may recall this message",
    );
  }

  /** Hides a message for the caller only. */
  async hide(userId: string, messageId: string): Promise<void> {
    const message = await this.visibleMessage(userId, messageId);
    await this.deps.store.hideForUser(userId, message);
  }

  /** The message when the caller may see its conversation; MESSAGE_NOT_FOUND otherwise. */
  private async visibleMessage(userId: string, messageId: string): Promise<StoredMessage> {
    const message = /^[0-9a-f]{32}$/.test(messageId) ? await this.deps.store.findById(messageId) : null;
    const ref = message ? parseConversationId(message.conversationId) : null;
    if (!message || !ref) throw new NotFoundError('Message not found', 'MESSAGE_NOT_FOUND');
    try {
      await this.assertCanView(userId, ref);
    } catch (err) {
      if (err instanceof ForbiddenError || err instanceof NotFoundError) {
        throw new NotFoundError('Message not found', 'MESSAGE_NOT_FOUND');
      }
      throw err;
    }
    return message;
  }

  /**
   * A page of the caller's chat list: pinned first, then by last activity (newest first), then by
   * conversation id. `cursor` is the `nextCursor` of the previous page (opaque to clients): the position of
   * that page's last line, so the next page starts strictly after it whatever moved meanwhile.
   */
  async conversations(
    userId: string,
    page: { cursor?: string | null; limit?: number } = {},
  ): Promise<{ items: ConversationView[]; nextCursor: string | null }> {
    const limit = page.limit ?? CHAT_LIST_DEFAULT_LIMIT;
    const after = page.cursor ? decodeChatListCursor(page.cursor) : null;
    const groups = this.deps.groups;
    const groupIds = await groups.groupIdsOf(userId);
    const extra = groupIds.map((g) => `g:${g}`);
    if (this.deps.worldEnabled) {
      extra.push(WORLD_ID);
      // Opening the chat list (its first page) gives the user a state in the world channel (read marker,
      // unread count); its pushes go to every connected user whether or not they have one.
      if (!after) await this.deps.store.join(userId, WORLD_ID);
    }
    const memberOf = new Set(groupIds);
    const keep = (conversationId: string): boolean => {
      const ref = parseConversationId(conversationId);
      if (!ref) return false;
      if (ref.kind === 'world') return this.deps.worldEnabled;
      if (ref.kind === 'group') return memberOf.has(ref.groupId);
      return ref.userIds.includes(userId);
    };
    // One line more than the page tells whether another page follows.
    const fetched = await this.deps.store.summaries(userId, extra, { keep, after, limit: limit + 1 });
    const { items: list, nextCursor } = toPage(fetched, limit, encodeChatListCursor);

    const refs = list.map((s) => parseConversationId(s.conversationId)!);
    const peerIds = refs.flatMap((r) =>
      r.kind === 'private' ? [r.userIds[0] === userId ? r.userIds[1] : r.userIds[0]] : [],
    );
    const peers = peerIds.length ? await this.deps.users.publicUsersByIds(peerIds, userId) : new Map();
    const gids = refs.flatMap((r) => (r.kind === 'group' ? [r.groupId] : []));
    const groupObjects = gids.length ? await groups.publicGroups(gids) : new Map();

    const items = list.map((s, i): ConversationView => {
      const ref = refs[i];
      const peerId =
        ref.kind === 'private' ? (ref.userIds[0] === userId ? ref.userIds[1] : ref.userIds[0]) : null;
      return {
        conversationId: s.conversationId,
        kind: ref.kind,
        peer: peerId ? (peers.get(peerId) ?? null) : null,
        group: ref.kind === 'group' ? (groupObjects.get(ref.groupId) ?? null) : null,
        lastMessage: s.lastMessage ? toMessageView(s.lastMessage) : null,
        lastSeq: s.lastSeq,
        readSeq: s.readSeq,
        unreadCount: s.unreadCount,
        pinned: s.pinned,
        muted: s.muted,
      };
    });
    return { items, nextCursor };
  }

  /** Mutes or unmutes a user in the world channel; administrators only. */
  async setWorldMute(adminId: string, targetId: string, muted: boolean): Promise<void> {
    if ((await this.deps.users.roleOf(adminId)) !== 'admin') {
      throw new ForbiddenError('Only administrators may mute users in the world channel');
    }
    if ((await this.deps.users.roleOf(targetId)) === null)
      throw new NotFoundError('User not found', 'USER_NOT_FOUND');
    await this.deps.store.setFlag(targetId, WORLD_ID, 'silenced', muted);
  }

  /**
   * A friendship began (on `FriendshipStarted`): the request's greeting (if any) becomes the private
   * conversation's next message, published as `MessageStored`.
   */
  async friendshipStarted(requesterId: string, accepterId: string, greeting: string | null): Promise<void> {
    const text = greeting?.trim();
    if (!text) return;
    const ref = this.parse(privateConversationId(requesterId, accepterId));
    const { message } = await this.deps.store.append({
      conversationId: ref.id,
      senderId: requesterId,
      type: 'text',
      content: { text: text.slice(0, 4000) },
      clientMsgId: `greeting:${accepterId}:${newId()}`,
      participants: ref.kind === 'private' ? ref.userIds : [requesterId],
    });
    await this.deps.events.publish('MessageStored', { ref, message: toMessageView(message), created: true });
  }

  /** A friendship ended (on `FriendshipEnded`); with `deleteHistory` the deleter no longer sees its history. */
  async friendshipDeleted(deleterId: string, otherId: string, deleteHistory: boolean): Promise<void> {
    if (!deleteHistory) return;
    await this.deps.store.clearHistory(deleterId, privateConversationId(deleterId, otherId));
  }
}

import { AppError } from '../../shared/errors';

/** Kinds of message payloads the contract defines. */
export type MessageType = 'text' | 'image' | 'voice' | 'video' | 'file' | 'location' | 'emoji';

/** `normal`, or `recalled` (the seq stays, the content is gone). */
export type MessageStatus = 'normal' | 'recalled';

/** A stored message, as every store returns it. */
export interface StoredMessage {
  id: string;
  conversationId: string;
  seq: number;
  senderId: string;
  type: MessageType;
  content: Record<string, unknown> | null;
  clientMsgId: string;
  createdAt: Date;
  status: MessageStatus;
}

/** What `append` needs; the store assigns id, seq and createdAt. */
export interface NewMessage {
  conversationId: string;
  senderId: string;
  type: MessageType;
  content: Record<string, unknown>;
  clientMsgId: string;
  /** Users who get a per-user state row for this conversation (so it shows in their chat list). */
  participants?: readonly string[];
}

/** Result of `append`: `existing` is true when (senderId, clientMsgId) had already been stored. */
export interface AppendResult {
  message: StoredMessage;
  existing: boolean;
}

/** One user's view of one conversation. */
export interface ConversationState {
  userId: string;
  conversationId: string;
  /** Highest seq the user has read; only moves forward. */
  readSeq: number;
  /** Messages up to this seq are hidden for the user (delete with history). */
  clearedSeq: number;
  pinned: boolean;
  muted: boolean;
  /** Barred from speaking here by a moderator (the world channel's admin mute). */
  silenced: boolean;
}

/** One line of a user's chat list. */
export interface ConversationSummary {
  conversationId: string;
  lastSeq: number;
  lastActivityAt: Date;
  lastMessage: StoredMessage | null;
  readSeq: number;
  unreadCount: number;
  pinned: boolean;
  muted: boolean;
}

/** Where a chat list line sits in the order: pinned first, then by last activity (newest first), then by id. */
export interface SummaryPosition {
  conversationId: string;
  pinned: boolean;
  lastActivityAt: Date;
}

/** Which slice of a chat list to build; without any of these, the whole list. */
export interface SummaryQuery {
  /** Only conversations this accepts (applied before paging, so a page is only short at the end). */
  keep?: (conversationId: string) => boolean;
  /** Only lines strictly after this position in the order. */
  after?: SummaryPosition | null;
  /** At most this many lines. */
  limit?: number;
}

/** Which slice of a conversation to read; without beforeSeq/afterSeq the latest `limit`. */
export interface PageQuery {
  beforeSeq?: number;
  afterSeq?: number;
  limit: number;
  /** Leaves out what this user hid or cleared. */
  viewerId?: string;
}

/** Boolean per-user flags that a user or a moderator may set. */
export type StateFlag = 'pinned' | 'muted' | 'silenced';

/** Thrown when the store cannot finish an append that another request for the same clientMsgId holds. */
export class AppendInProgressError extends AppError {
  constructor() {
    super('MESSAGE_IN_PROGRESS', 409, 'The same clientMsgId is being stored by another request; retry');
  }
}

/** Thrown when a sender reuses the clientMsgId of a message they stored in another conversation. */
export class ClientMsgIdReusedError extends AppError {
  constructor() {
    super(
      'CLIENT_MSG_ID_REUSED',
      409,
      'This clientMsgId is already used by one of your messages in another conversation; use a new one',
    );
  }
}

/**
 * `append`'s answer when a message is already stored under the input's (senderId, clientMsgId): the original
 * when it belongs to the same conversation (an idempotent retry), else CLIENT_MSG_ID_REUSED, so the new
 * message is refused rather than silently answered with another one.
 */
export function alreadyStored(input: NewMessage, original: StoredMessage): AppendResult {
  if (original.conversationId !== input.conversationId) throw new ClientMsgIdReusedError();
  return { message: original, existing: true };
}

/**
 * Message storage. Every implementation passes `test/messages/store.contract.ts`:
 * seq starts at 1 per conversation and has no gaps under concurrency; (senderId, clientMsgId) is unique.
 */
export interface MessageStore {
  /**
   * Stores a message with the conversation's next seq; a repeated (senderId, clientMsgId) returns the
   * original when it is in the same conversation, and throws ClientMsgIdReusedError (storing nothing) when it
   * is in another (`alreadyStored`).
   */
  append(message: NewMessage): Promise<AppendResult>;
  /** The message with this id; null when none. */
  findById(id: string): Promise<StoredMessage | null>;
  /** The message a sender stored under this clientMsgId; null when none. */
  findByClientMsgId(senderId: string, clientMsgId: string): Promise<StoredMessage | null>;
  /** Messages of a conversation in ascending seq, per the query. */
  page(conversationId: string, query: PageQuery): Promise<StoredMessage[]>;
  /** Marks the message recalled and removes its content from storage; null when none. */
  recall(id: string): Promise<StoredMessage | null>;
  /** Hides one message for one user only. */
  hideForUser(userId: string, message: StoredMessage): Promise<void>;
  /** The highest seq of the conversation (0 when empty). */
  lastSeq(conversationId: string): Promise<number>;
  /** The user's state in the conversation (defaults when never touched). */
  getState(userId: string, conversationId: string): Promise<ConversationState>;
  /** Moves readSeq forward to `seq` (never back); returns the resulting readSeq and whether it moved. */
  markRead(userId: string, conversationId: string, seq: number): Promise<{ readSeq: number; moved: boolean }>;
  /** Sets pinned, muted or silenced for the user. */
  setFlag(userId: string, conversationId: string, flag: StateFlag, value: boolean): Promise<void>;
  /** Of these users, the ones who muted the conversation (one query however many users). */
  mutedAmong(conversationId: string, userIds: readonly string[]): Promise<Set<string>>;
  /**
   * Of these users, the ones who muted the conversation, reading only their own states (for a few users of a
   * conversation that may have millions, such as the world channel).
   */
  mutedOf(conversationId: string, userIds: readonly string[]): Promise<Set<string>>;
  /** Gives the user a state row in the conversation (no-op when present), so it shows in their chat list. */
  join(userId: string, conversationId: string): Promise<void>;
  /** Hides the conversation's history up to its current last seq for this user only. */
  clearHistory(userId: string, conversationId: string): Promise<void>;
  /**
   * The user's chat list over conversations they have state in plus `alsoConsider` (e.g. their groups),
   * in chat list order (`compareSummaries`), narrowed by `query`. The last message and unread count are
   * looked up only for the lines returned.
   */
  summaries(
    userId: string,
    alsoConsider: readonly string[],
    query?: SummaryQuery,
  ): Promise<ConversationSummary[]>;
}

/** The chat list order: pinned first, then by last activity, newest first, then by conversation id. */
export function compareSummaries(a: SummaryPosition, b: SummaryPosition): number {
  return (
    Number(b.pinned) - Number(a.pinned) ||
    b.lastActivityAt.getTime() - a.lastActivityAt.getTime() ||
    (a.conversationId < b.conversationId ? -1 : a.conversationId > b.conversationId ? 1 : 0)
  );
}

/** Orders a chat list: pinned first, then by last activity, newest first. */
export function sortSummaries<T extends SummaryPosition>(list: T[]): T[] {
  return list.sort(compareSummaries);
}

/** The lines of `list` after `query.after`, in chat list order, at most `query.limit` (`keep` is the caller's). */
export function pageSummaries<T extends SummaryPosition>(list: T[], query: SummaryQuery = {}): T[] {
  const after = query.after;
  const rest = after ? list.filter((s) => compareSummaries(s, after) > 0) : list;
  const sorted = sortSummaries(rest);
  return query.limit === undefined ? sorted : sorted.slice(0, query.limit);
}

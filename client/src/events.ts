import type { FriendRequest, Message } from './api';

/** First frame of every connection. */
export interface ReadyEvent {
  userId: string;
  connectionId: string;
}

export interface RecalledEvent {
  conversationId: string;
  messageId: string;
  seq: number;
}

export interface ReadEvent {
  conversationId: string;
  userId: string;
  seq: number;
}

export interface TypingEvent {
  conversationId: string;
  userId: string;
}

export interface PresenceEvent {
  userId: string;
  online: boolean;
  presence: 'online' | 'away' | 'busy' | 'invisible' | 'offline';
}

/** `friend.request` carries the request; the others carry at least the other party's `userId`. */
export type FriendRequestEvent = FriendRequest & { userId?: string };
export interface FriendEvent {
  userId: string;
  [key: string]: unknown;
}

export interface GroupEvent {
  groupId: string;
  [key: string]: unknown;
}

export interface MessageFailedEvent {
  conversationId: string;
  messageId: string;
  reason: string;
}

/** Where the connection stands. */
export type ConnectionState =
  | 'idle' // never connected, or closed by the application
  | 'connecting' // opening a socket, waiting for `ready`
  | 'open' // `ready` received: pushes flow and queued sends go out
  | 'waiting' // disconnected, a reconnect is scheduled
  | 'unauthorized'; // token refused, expired or revoked: give a new one with setToken() and connect()

/** Lifecycle of a message sent through the queue. */
export type OutgoingState = 'pending' | 'sent' | 'failed';

/** A message in the send queue. */
export interface OutgoingMessage {
  /** Chosen once, sent with every attempt: the server never stores the message twice. */
  clientMsgId: string;
  conversationId: string;
  type: Message['type'];
  content: Record<string, unknown>;
  state: OutgoingState;
  /** The stored message once acknowledged. */
  message: Message | null;
  /** Why it failed (a server code such as `NOT_FRIENDS`), when it did. */
  error: { code: string; message: string } | null;
  /** How many times it was put on the wire. */
  attempts: number;
}

/** Why the session stopped for authentication. */
export interface UnauthorizedEvent {
  reason: 'revoked' | 'expired' | 'rejected';
  message: string;
}

/** Every event the client emits, by name. */
export interface JimEvents {
  state: ConnectionState;
  ready: ReadyEvent;
  /** Each message exactly once, in seq order per conversation (own messages included, from their ack). */
  message: Message;
  'message.recalled': RecalledEvent;
  'message.failed': MessageFailedEvent;
  read: ReadEvent;
  typing: TypingEvent;
  presence: PresenceEvent;
  'friend.request': FriendRequestEvent;
  'friend.accepted': FriendEvent;
  'friend.rejected': FriendEvent;
  'friend.removed': FriendEvent;
  'group.created': GroupEvent;
  'group.updated': GroupEvent;
  'group.member_joined': GroupEvent;
  'group.member_left': GroupEvent;
  'group.member_removed': GroupEvent;
  'group.member_updated': GroupEvent;
  'group.dissolved': GroupEvent;
  /** A queued message changed state (pending → sent or failed). */
  outbox: OutgoingMessage;
  unauthorized: UnauthorizedEvent;
  /** A catch-up pass over every known conversation finished. */
  synced: { conversationIds: string[] };
  /** A server `error` frame that answers no queued send. */
  'server.error': { id: string | null; code: string; message: string };
}

/** Server event names passed through to the application as they come. */
export const PASS_THROUGH_EVENTS = [
  'message.recalled',
  'message.failed',
  'read',
  'typing',
  'presence',
  'friend.request',
  'friend.accepted',
  'friend.rejected',
  'friend.removed',
  'group.created',
  'group.updated',
  'group.member_joined',
  'group.member_left',
  'group.member_removed',
  'group.member_updated',
  'group.dissolved',
] as const satisfies readonly (keyof JimEvents)[];

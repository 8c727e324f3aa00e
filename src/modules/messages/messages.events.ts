import type { ConversationRef } from './conversation-id';
import type { MessageView } from './messages.views';

/** What the messages module publishes (see docs/events.md for who listens). */
export type MessagesEvents = {
  /**
   * A message is stored (or a retry found it stored: `created` false; it is pushed again, as the first
   * attempt may have died before its push). `originConnectionId` is the WS connection whose `ack` carries it.
   */
  MessageStored: {
    ref: ConversationRef;
    message: MessageView;
    created: boolean;
    originConnectionId?: string;
  };
  /** A message was recalled by `actorId`; its content is gone for everyone. */
  MessageRecalled: { ref: ConversationRef; messageId: string; seq: number; actorId: string };
  /** `userId`'s read marker in the conversation moved forward to `seq`. */
  ConversationRead: { ref: ConversationRef; userId: string; seq: number };
  /** `userId` is typing in the conversation (never the world channel; within the typing limit). */
  UserTyping: { ref: ConversationRef; userId: string };
  /** `userId` muted or unmuted the conversation's pushes. */
  ConversationMuted: { ref: ConversationRef; userId: string; muted: boolean };
};

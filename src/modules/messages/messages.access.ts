import { ForbiddenError, NotFoundError } from '../../shared/errors';
import { parseConversationId, type ConversationRef } from './conversation-id';
import type { SocialPolicy } from './messages.ports';
import type { MessageStore } from './messages.store';

/**
 * Who may read a conversation and its messages. Messaging asks it on every read; uploads ask it whether a
 * reader of a message may read the upload it refers to (so uploads need this, not the messages service).
 */
export class MessageAccess {
  constructor(
    private readonly deps: {
      store: Pick<MessageStore, 'findById' | 'page'>;
      social: Pick<SocialPolicy, 'groupRole' | 'groupMemberIds'>;
      worldEnabled: boolean;
    },
  ) {}

  /** Throws unless the user may read the conversation (a participant or member). */
  async assertCanView(userId: string, ref: ConversationRef): Promise<void> {
    if (ref.kind === 'private') {
      this.peerOf(userId, ref);
    } else if (ref.kind === 'group') {
      if ((await this.deps.social.groupRole(ref.groupId, userId)) !== null) return;
      if ((await this.deps.social.groupMemberIds(ref.groupId)).length === 0) {
        throw new NotFoundError('Conversation not found', 'CONVERSATION_NOT_FOUND');
      }
      throw new ForbiddenError('You are not a member of this group', 'NOT_A_MEMBER');
    } else {
      this.assertWorldOpen();
    }
  }

  /** WORLD_DISABLED unless the world channel is on. */
  assertWorldOpen(): void {
    if (!this.deps.worldEnabled) throw new ForbiddenError('The world channel is disabled', 'WORLD_DISABLED');
  }

  /** The other user of a private conversation; NOT_A_MEMBER when `userId` is not one of the two. */
  peerOf(userId: string, ref: Extract<ConversationRef, { kind: 'private' }>): string {
    const [a, b] = ref.userIds;
    if (userId !== a && userId !== b) {
      throw new ForbiddenError('You are not part of this conversation', 'NOT_A_MEMBER');
    }
    return userId === a ? b : a;
  }

  /**
   * Whether the user can read the message now: a member of its conversation, the message neither recalled
   * nor hidden or cleared for them. Uploads ask this for each message that refers to an upload.
   */
  async canReadMessage(userId: string, messageId: string): Promise<boolean> {
    const message = await this.deps.store.findById(messageId);
    const ref = message ? parseConversationId(message.conversationId) : null;
    if (!message || !ref || message.status === 'recalled') return false;
    try {
      await this.assertCanView(userId, ref);
    } catch (err) {
      if (err instanceof ForbiddenError || err instanceof NotFoundError) return false;
      throw err;
    }
    // The one-message page after seq - 1 as this user sees it leaves out what they hid or cleared.
    const [seen] = await this.deps.store.page(ref.id, {
      afterSeq: message.seq - 1,
      limit: 1,
      viewerId: userId,
    });
    return seen?.id === message.id;
  }
}

import { pushSafely, type DeliverOptions, type Delivery, type ServerEvent } from '../../shared/push';
import type { EventSubscriber } from '../../shared/events';
import type { Logger } from '../../shared/logger';
import type { ConversationRef } from './conversation-id';
import type { MessagesEvents } from './messages.events';
import type { Broadcast, SocialPolicy } from './messages.ports';
import type { MessageStore } from './messages.store';

type MemberRef = Exclude<ConversationRef, { kind: 'world' }>;

export interface MessagePushDeps {
  /** Reaches users' connections on any instance. */
  delivery: Delivery;
  /** Reaches every connected user (the world channel). */
  broadcast: Broadcast;
  social: Pick<SocialPolicy, 'groupMemberIds' | 'usersBlockedBy'>;
  store: Pick<MessageStore, 'mutedAmong'>;
  logger: Logger;
}

/**
 * Pushes `message`, `message.recalled`, `read` and `typing` when messaging publishes them, and tells the
 * broadcast about world channel mutes. Runs inside `publish`, so a WS `send` gets its `ack` after the push,
 * and one conversation's pushes leave in the order its messages were stored.
 */
export function subscribeMessagePushes(events: EventSubscriber<MessagesEvents>, deps: MessagePushDeps): void {
  const { delivery, broadcast, social, store, logger } = deps;

  /** Everyone in the conversation, muted or not: the two users or the group's members. */
  const membersOf = async (ref: MemberRef): Promise<string[]> =>
    ref.kind === 'private' ? [...ref.userIds] : social.groupMemberIds(ref.groupId);

  /** The conversation's members but those `userId` blocks: blocking hides the blocker's receipts and typing. */
  const withoutBlocked = async (userId: string, ref: MemberRef): Promise<string[]> => {
    const [members, blocked] = await Promise.all([membersOf(ref), social.usersBlockedBy(userId)]);
    return blocked.size ? members.filter((u) => !blocked.has(u)) : members;
  };

  const push = (userIds: string[], event: ServerEvent, options?: DeliverOptions): Promise<void> =>
    pushSafely(
      delivery,
      userIds,
      event,
      (err) => logger.warn({ err, type: event.type }, 'push failed'),
      options,
    );

  events.subscribe(
    'MessageStored',
    async ({ ref, message, originConnectionId }) => {
      const options = { exceptConnectionId: originConnectionId };
      try {
        if (ref.kind === 'world') {
          // Every connected user, on every instance, but those who muted the world (each instance knows the
          // mutes of its own users): the cost grows with the connected users, not the registered ones.
          await broadcast.broadcast({ type: 'message', data: message }, options);
          return;
        }
        const members = await membersOf(ref);
        const muted = await store.mutedAmong(ref.id, members);
        // The members and the sender's own other devices, but those who muted the conversation.
        const targets = [...members, message.senderId].filter((u) => !muted.has(u));
        await push(targets, { type: 'message', data: message }, options);
      } catch (err) {
        logger.warn({ err, conversationId: ref.id, messageId: message.id }, 'message push failed');
      }
    },
    'message pushes',
  );

  events.subscribe(
    'MessageRecalled',
    async ({ ref, messageId, seq, actorId }) => {
      const data = { conversationId: ref.id, messageId, seq };
      if (ref.kind === 'world') {
        // Every connected user, muted or not: clients must drop the content they hold.
        await broadcast
          .broadcast({ type: 'message.recalled', data }, { includeOptedOut: true })
          .catch((err: unknown) => logger.warn({ err, messageId }, 'push failed'));
        return;
      }
      // Everyone in the conversation, muted or not (muting stops only `message` pushes): clients must drop
      // the content they hold. The actor's own devices get it even when the audience cannot be read.
      const members = await membersOf(ref).catch((err: unknown) => {
        logger.warn({ err, conversationId: ref.id, messageId }, 'recall audience failed');
        return [] as string[];
      });
      await push([...members, actorId], { type: 'message.recalled', data });
    },
    'message pushes',
  );

  events.subscribe(
    'ConversationRead',
    async ({ ref, userId, seq }) => {
      // World read receipts go only to the reader's own devices: thousands of strangers need not know.
      const members = ref.kind === 'world' ? [userId] : await withoutBlocked(userId, ref);
      await push(members, { type: 'read', data: { conversationId: ref.id, userId, seq } });
    },
    'message pushes',
  );

  events.subscribe(
    'UserTyping',
    async ({ ref, userId }) => {
      if (ref.kind === 'world') return;
      const members = (await withoutBlocked(userId, ref)).filter((u) => u !== userId);
      const muted = await store.mutedAmong(ref.id, members);
      await push(
        members.filter((u) => !muted.has(u)),
        { type: 'typing', data: { conversationId: ref.id, userId } },
      );
    },
    'message pushes',
  );

  events.subscribe(
    'ConversationMuted',
    async ({ ref, userId, muted }) => {
      if (ref.kind !== 'world') return;
      try {
        await broadcast.optOutChanged(userId, muted);
      } catch (err) {
        // Stored all the same; the instances read it again at the user's next connection.
        logger.warn({ err, userId }, 'world mute notice failed');
      }
    },
    'message pushes',
  );
}

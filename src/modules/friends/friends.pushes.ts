import type { EventSubscriber } from '../../shared/events';
import type { Logger } from '../../shared/logger';
import { pushSafely, type Delivery } from '../../shared/push';
import type { FriendsEvents } from './friends.events';

/**
 * Pushes the `friend.*` events of the WebSocket contract when friendships change. Every `friend.*` event
 * carries the other party's id as `userId`.
 */
export function subscribeFriendPushes(
  events: EventSubscriber<FriendsEvents>,
  delivery: Delivery,
  logger: Logger,
): void {
  const push = (userIds: string[], type: string, data: unknown) =>
    pushSafely(delivery, userIds, { type, data }, (err) =>
      logger.warn({ err, event: type }, 'event delivery failed'),
    );
  events.subscribe(
    'FriendRequestSent',
    ({ request }) => push([request.to.id], 'friend.request', { ...request, userId: request.from.id }),
    'friend pushes',
  );
  events.subscribe(
    'FriendRequestRejected',
    ({ requestId, fromUserId, rejecterId, reply }) =>
      push([fromUserId], 'friend.rejected', { requestId, userId: rejecterId, reply }),
    'friend pushes',
  );
  events.subscribe(
    'FriendshipStarted',
    ({ requestId, requesterId, accepterId, friendOfRequester }) =>
      push([requesterId], 'friend.accepted', { requestId, userId: accepterId, friend: friendOfRequester }),
    'friend pushes',
  );
  events.subscribe(
    'FriendshipEnded',
    ({ userId, friendId }) => push([friendId], 'friend.removed', { userId }),
    'friend pushes',
  );
}

import type { Broadcast, Delivery } from '../gateway/gateway.types';
import type { Logger } from '../shared/logger';
import type { AccountCutOff, PresenceChangeListener } from '../modules/accounts/accounts.service';
import type { RevocationListener } from '../modules/accounts/tokens';
import { subscribeFriendPushes } from '../modules/friends/friends.pushes';
import { subscribeGroupPushes } from '../modules/groups/groups.pushes';
import type { MessagesService } from '../modules/messages/messages.service';
import type { SocialPolicy } from '../modules/messages/messages.ports';
import type { MessageStore } from '../modules/messages/messages.store';
import { subscribeMessagePushes } from '../modules/messages/messages.pushes';
import type { SocialCache } from '../modules/social-graph/social-graph.cache';
import type { DomainEventBus } from './events';

/** What the listeners of the domain events act on. */
export interface Listeners {
  cache: SocialCache;
  messages: Pick<MessagesService, 'friendshipStarted' | 'friendshipDeleted'>;
  messageStore: Pick<MessageStore, 'mutedAmong'>;
  social: Pick<SocialPolicy, 'groupMemberIds' | 'usersBlockedBy'>;
  delivery: Delivery;
  /** The delivery of `message` events (timed for the delivery-latency histogram). */
  messageDelivery: Delivery;
  broadcast: Broadcast;
  revocations: RevocationListener;
  cutOff: AccountCutOff;
  presence: PresenceChangeListener;
  logger: Logger;
}

/**
 * Every subscription of the instance, in the order the handlers run: first the social cache (so that what
 * runs next, and the next request, sees the change), then the modules that react to another's change, then
 * the pushes to clients, then the gateway's cut-offs. docs/events.md lists the same table.
 */
export function subscribeAll(events: DomainEventBus, l: Listeners): void {
  subscribeSocialCache(events, l.cache);

  events.subscribe(
    'FriendshipStarted',
    (e) => l.messages.friendshipStarted(e.requesterId, e.accepterId, e.greeting),
    'greeting message',
  );
  events.subscribe(
    'FriendshipEnded',
    (e) => l.messages.friendshipDeleted(e.userId, e.friendId, e.deleteHistory),
    'history clearing',
  );

  subscribeFriendPushes(events, l.delivery, l.logger);
  subscribeGroupPushes(events, { delivery: l.delivery, cache: l.cache, logger: l.logger });
  subscribeMessagePushes(events, {
    delivery: l.messageDelivery,
    broadcast: l.broadcast,
    social: l.social,
    store: l.messageStore,
    logger: l.logger,
  });

  const gw = 'gateway';
  events.subscribe('TokenRevoked', (e) => l.revocations.tokenRevoked(e.userId, e.jti), gw);
  events.subscribe(
    'SessionsRevoked',
    (e) => l.revocations.tokensRevokedBefore(e.userId, e.before, e.keepJti),
    gw,
  );
  events.subscribe('AccountDisabled', (e) => l.cutOff.accountDeactivated(e.userId), gw);
  events.subscribe(
    'ProfileChanged',
    (e) => (e.presence !== e.previousPresence ? l.presence.presenceChosen(e.userId, e.presence) : undefined),
    gw,
  );
}

/** Drops what the social cache holds about a pair, a blocker or a group once it changed. */
function subscribeSocialCache(events: DomainEventBus, cache: SocialCache): void {
  const label = 'social cache';
  events.subscribe('FriendshipStarted', (e) => cache.invalidatePair(e.requesterId, e.accepterId), label);
  events.subscribe('FriendshipEnded', (e) => cache.invalidatePair(e.userId, e.friendId), label);
  const blockChanged = async (e: { userId: string; targetId: string }) => {
    await cache.invalidatePair(e.userId, e.targetId);
    await cache.invalidateBlocks(e.userId);
  };
  events.subscribe('Blocked', blockChanged, label);
  events.subscribe('Unblocked', blockChanged, label);
  events.subscribe('GroupCreated', (e) => cache.invalidateGroup(e.group.id), label);
  events.subscribe('GroupUpdated', (e) => cache.invalidateGroup(e.group.id), label);
  events.subscribe('OwnershipTransferred', (e) => cache.invalidateGroup(e.group.id), label);
  for (const name of [
    'GroupDissolved',
    'MemberJoined',
    'MemberLeft',
    'MemberRemoved',
    'MemberUpdated',
  ] as const) {
    events.subscribe(name, (e) => cache.invalidateGroup(e.groupId), label);
  }
}

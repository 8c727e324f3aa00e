import type { EventSubscriber } from '../../shared/events';
import type { Logger } from '../../shared/logger';
import type { SocialCache } from './groups.ports';
import { pushSafely, type Delivery } from '../../shared/push';
import type { GroupsEvents } from './groups.events';
import type { Member } from './groups.views';

/** Pushes the `group.*` events of the WebSocket contract when groups change. */
export function subscribeGroupPushes(
  events: EventSubscriber<GroupsEvents>,
  deps: { delivery: Delivery; cache: Pick<SocialCache, 'blockedBy'>; logger: Logger },
): void {
  const push = (userIds: string[], type: string, data: unknown) =>
    pushSafely(deps.delivery, userIds, { type, data }, (err) =>
      deps.logger.warn({ err, event: type }, 'event delivery failed'),
    );

  /**
   * An event about one member; the recipients that member blocks get it with the member shown offline
   * (blocking hides the blocker's presence), everyone else as it is.
   */
  const pushMemberEvent = async (recipients: string[], type: string, groupId: string, member: Member) => {
    const blocked = await deps.cache.blockedBy(member.user.id);
    const hidden = recipients.filter((id) => blocked.has(id));
    const shown = hidden.length ? recipients.filter((id) => !blocked.has(id)) : recipients;
    if (shown.length) await push(shown, type, { groupId, member });
    if (hidden.length) {
      const offline = { ...member, user: { ...member.user, online: false, presence: 'offline' } };
      await push(hidden, type, { groupId, member: offline });
    }
  };

  const label = 'group pushes';
  events.subscribe(
    'GroupCreated',
    ({ group, memberIds }) => push(memberIds, 'group.created', { groupId: group.id, group }),
    label,
  );
  events.subscribe(
    'GroupUpdated',
    ({ group, memberIds }) => push(memberIds, 'group.updated', { groupId: group.id, group }),
    label,
  );
  events.subscribe(
    'GroupDissolved',
    ({ groupId, memberIds }) => push(memberIds, 'group.dissolved', { groupId }),
    label,
  );
  events.subscribe(
    'JoinRequested',
    ({ groupId, request, managerIds }) => push(managerIds, 'group.join_requested', { groupId, request }),
    label,
  );
  events.subscribe(
    'JoinRequestRejected',
    ({ groupId, requestId, userId }) => push([userId], 'group.join_rejected', { groupId, requestId }),
    label,
  );
  events.subscribe(
    'MemberJoined',
    async ({ groupId, members, memberIds }) => {
      for (const member of members) await pushMemberEvent(memberIds, 'group.member_joined', groupId, member);
    },
    label,
  );
  events.subscribe(
    'MemberLeft',
    ({ groupId, userId, memberIds }) =>
      push([...memberIds, userId], 'group.member_left', { groupId, userId }),
    label,
  );
  events.subscribe(
    'MemberRemoved',
    ({ groupId, userId, banned, memberIds }) =>
      push([...memberIds, userId], 'group.member_removed', { groupId, userId, banned }),
    label,
  );
  events.subscribe(
    'MemberUpdated',
    ({ groupId, member, memberIds }) => pushMemberEvent(memberIds, 'group.member_updated', groupId, member),
    label,
  );
  events.subscribe(
    'OwnershipTransferred',
    async ({ group, members, memberIds }) => {
      await push(memberIds, 'group.updated', { groupId: group.id, group });
      for (const member of members)
        await pushMemberEvent(memberIds, 'group.member_updated', group.id, member);
    },
    label,
  );
}

import type { Group, JoinRequest, Member } from './groups.views';

/**
 * What the groups module publishes (see docs/events.md for who listens). `memberIds` is the audience the
 * change concerns, read when it happened, so no listener has to ask the store again.
 */
export type GroupsEvents = {
  /** A group was created with its owner and initial members (`memberIds`, the owner included). */
  GroupCreated: { group: Group; ownerId: string; memberIds: string[] };
  /** The group's public fields changed (name, avatar, announcement, policy, maxMembers, mute-all). */
  GroupUpdated: { group: Group; memberIds: string[] };
  /** The owner dissolved the group; `memberIds` were its members. */
  GroupDissolved: { groupId: string; actorId: string; memberIds: string[] };
  /** A user asked to join an `approval` group; `managerIds` are its owner and admins. */
  JoinRequested: { groupId: string; request: JoinRequest; managerIds: string[] };
  /** A manager rejected a join request of `userId`. */
  JoinRequestRejected: { groupId: string; requestId: string; userId: string; actorId: string };
  /** Members joined (open join, approved request or invitation); `memberIds` includes them. */
  MemberJoined: { groupId: string; members: Member[]; memberIds: string[] };
  /** `userId` left; `memberIds` are the members who stay. */
  MemberLeft: { groupId: string; userId: string; memberIds: string[] };
  /** A manager removed `userId` (and banned them when `banned`); `memberIds` were the members before. */
  MemberRemoved: { groupId: string; userId: string; actorId: string; banned: boolean; memberIds: string[] };
  /** A member's role, nickname or mute changed (`roleChanged` when the role did). */
  MemberUpdated: { groupId: string; member: Member; roleChanged: boolean; memberIds: string[] };
  /** The owner handed the group to `toUserId`; `members` are both of them after the change. */
  OwnershipTransferred: {
    group: Group;
    fromUserId: string;
    toUserId: string;
    members: Member[];
    memberIds: string[];
  };
};

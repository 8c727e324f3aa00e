import type { GroupRole, GroupSnapshot } from './groups.ports';

export type JoinPolicy = 'open' | 'approval' | 'invite';

/** A live (not dissolved) group as stored. */
export interface GroupRecord {
  id: string;
  name: string;
  avatar: string | null;
  announcement: string | null;
  ownerId: string;
  maxMembers: number;
  memberCount: number;
  joinPolicy: JoinPolicy;
  mutedAll: boolean;
  createdAt: Date;
}

/** One membership. */
export interface MemberRecord {
  groupId: string;
  userId: string;
  role: GroupRole;
  nickname: string | null;
  mutedUntil: Date | null;
  joinedAt: Date;
}

/** A request to join an `approval` group. */
export interface JoinRequestRecord {
  id: string;
  groupId: string;
  userId: string;
  message: string | null;
  status: 'pending' | 'approved' | 'rejected' | 'cancelled';
  createdAt: Date;
}

export interface GroupChanges {
  name?: string;
  avatar?: string | null;
  announcement?: string | null;
  joinPolicy?: JoinPolicy;
  maxMembers?: number;
}

/** What adding members did; banned users and existing members are left out, never added. */
export type AddOutcome =
  | { kind: 'not_found' }
  | { kind: 'full'; room: number }
  | { kind: 'added'; added: MemberRecord[]; banned: string[]; existing: string[] };

/**
 * A rule checked inside a membership change, after the group row is locked, on the memberships as they are
 * then: the actor's and the target's (null for a non-member). It throws to refuse, and nothing changes. So a
 * change that raced another (a transfer, a role change) is judged on the roles that hold when it is made.
 */
export interface MembershipGuard {
  actorId: string;
  check: (actor: MemberRecord | null, target: MemberRecord | null) => void;
}

/** Storage of groups, members, bans and join requests. Member counts change only under the group row's lock. */
export interface GroupsStore {
  /** Creates a group with its owner and initial members. */
  createGroup(input: {
    name: string;
    avatar: string | null;
    ownerId: string;
    maxMembers: number;
    joinPolicy: JoinPolicy;
    memberIds: string[];
  }): Promise<GroupRecord>;
  /** A live group, or null (unknown or dissolved). */
  findGroup(groupId: string): Promise<GroupRecord | null>;
  /** Live groups with these ids; unknown or dissolved ones left out. */
  findGroups(groupIds: string[]): Promise<GroupRecord[]>;
  /** Ids of the live groups the user is in. */
  groupIdsOf(userId: string): Promise<string[]>;
  /** A membership, or null. */
  findMember(groupId: string, userId: string): Promise<MemberRecord | null>;
  /** Whether the user is banned from the group. */
  isBanned(groupId: string, userId: string): Promise<boolean>;
  /** Live groups the user is in, by group id ascending after `afterId`. */
  listGroupsOf(userId: string, afterId: string | null, limit: number): Promise<GroupRecord[]>;
  /** Members by user id ascending after `afterUserId`. */
  listMembers(groupId: string, afterUserId: string | null, limit: number): Promise<MemberRecord[]>;
  /** Ids of members with one of these roles (all members when omitted). */
  memberIds(groupId: string, roles?: GroupRole[]): Promise<string[]>;
  /** Changes group fields (`changed`: whether any differed); `below_count` when maxMembers would be below the member count. */
  updateGroup(
    groupId: string,
    changes: GroupChanges,
  ): Promise<
    { kind: 'ok'; group: GroupRecord; changed: boolean } | { kind: 'below_count' } | { kind: 'not_found' }
  >;
  /** Sets mute-all; null when the group is gone. */
  setMutedAll(groupId: string, mutedAll: boolean): Promise<GroupRecord | null>;
  /**
   * Dissolves the group, removing every member; returns who the members were, or null when already gone.
   * `guard` (its target is the actor) may refuse it under the group lock.
   */
  dissolve(groupId: string, guard?: MembershipGuard): Promise<string[] | null>;
  /** Adds members all-or-nothing under the group lock, leaving out banned users and existing members. */
  addMembers(groupId: string, userIds: string[]): Promise<AddOutcome>;
  /**
   * Removes a member (when one) and optionally bans them; true when a membership was removed. `guard` may
   * refuse it under the group lock.
   */
  removeMember(
    groupId: string,
    userId: string,
    ban: { by: string } | null,
    guard?: MembershipGuard,
  ): Promise<boolean>;
  /** Changes a membership; null when not a member. `guard` may refuse it under the group lock. */
  updateMember(
    groupId: string,
    userId: string,
    changes: { role?: GroupRole; nickname?: string | null; mutedUntil?: Date | null },
    guard?: MembershipGuard,
  ): Promise<MemberRecord | null>;
  /** Makes `toUserId` (a member) the owner and the old owner an admin; false when the target is not a member. */
  transfer(groupId: string, fromUserId: string, toUserId: string): Promise<boolean>;
  /** Stores a pending join request, or returns the one already pending. */
  createJoinRequest(groupId: string, userId: string, message: string | null): Promise<JoinRequestRecord>;
  /** Pending join requests by id ascending after `afterId`. */
  listJoinRequests(groupId: string, afterId: string | null, limit: number): Promise<JoinRequestRecord[]>;
  /** Approves a pending request under the group lock, adding the member when allowed. */
  approveJoinRequest(
    groupId: string,
    requestId: string,
    by: string,
  ): Promise<
    | { kind: 'approved'; member: MemberRecord; request: JoinRequestRecord }
    | { kind: 'not_found' }
    | { kind: 'banned' }
    | { kind: 'already_member' }
    | { kind: 'full' }
  >;
  /** Rejects a pending request; null when there is none with that id in the group. */
  rejectJoinRequest(groupId: string, requestId: string, by: string): Promise<JoinRequestRecord | null>;
  /** The group's state for the hot-path cache. */
  groupSnapshot(groupId: string): Promise<GroupSnapshot>;
}

import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../shared/errors';
import type { EventPublisher } from '../../shared/events';
import type { AccountsService } from '../accounts';
import type { FriendsService } from '../friends';
import type { GroupRole, SocialCache } from './groups.ports';
import type { GroupsEvents } from './groups.events';
import { idCursor, toPage, type Page } from '../../shared/pagination';
import type {
  GroupChanges,
  GroupRecord,
  GroupsStore,
  JoinPolicy,
  JoinRequestRecord,
  MemberRecord,
} from './groups.store';
import type { Group, Member, JoinRequest } from './groups.views';
export type { Group, Member, JoinRequest } from './groups.views';

export type SkipReason = 'not_friend' | 'blocked' | 'banned' | 'already_member';

export interface GroupsDeps {
  store: GroupsStore;
  accounts: Pick<AccountsService, 'getPublic' | 'publicUsersByIds'>;
  friends: Pick<FriendsService, 'friendsAmong'>;
  /** Who blocks whom, read from the social cache (its invalidation listens to the events). */
  cache: Pick<SocialCache, 'blockedEitherWay'>;
  /** Told what happened: the social cache and the pushes to clients listen. */
  events: EventPublisher<GroupsEvents>;
  limits: { maxMembersLimit: number; defaultMaxMembers: number };
}

const RANK: Record<GroupRole, number> = { owner: 3, admin: 2, member: 1 };

/** Groups: membership by join policy, roles, bans, mutes; every change published as a `GroupsEvents` event. */
export class GroupsService {
  constructor(private readonly deps: GroupsDeps) {}

  /**
   * Creates a group owned by the caller; initial members must all be the caller's friends (NOT_FRIENDS) and
   * neither block the caller nor be blocked by them (BLOCKED; either way, not saying which).
   */
  async create(
    ownerId: string,
    input: {
      name: string;
      avatar?: string | null;
      memberIds?: string[];
      maxMembers?: number;
      joinPolicy?: JoinPolicy;
    },
  ): Promise<Group> {
    const maxMembers =
      input.maxMembers ?? Math.min(this.deps.limits.defaultMaxMembers, this.deps.limits.maxMembersLimit);
    this.checkMaxMembers(maxMembers);
    const memberIds = [...new Set(input.memberIds ?? [])].filter((id) => id !== ownerId);
    if (memberIds.length) {
      const friends = await this.deps.friends.friendsAmong(ownerId, memberIds);
      const strangers = memberIds.filter((id) => !friends.has(id));
      if (strangers.length) {
        throw new ForbiddenError(
          'Initial members must be your friends',
          'NOT_FRIENDS',
          strangers.map((userId) => ({ userId })),
        );
      }
      const blocked = await this.deps.cache.blockedEitherWay(ownerId, memberIds);
      if (blocked.size) {
        throw new ForbiddenError(
          'You cannot add these users to a group',
          'BLOCKED',
          memberIds.filter((id) => blocked.has(id)).map((userId) => ({ userId })),
        );
      }
    }
    if (1 + memberIds.length > maxMembers)
      throw new ConflictError('Too many members for maxMembers', 'GROUP_FULL');
    const group = await this.deps.store.createGroup({
      name: input.name,
      avatar: input.avatar ?? null,
      ownerId,
      maxMembers,
      joinPolicy: input.joinPolicy ?? 'approval',
      memberIds,
    });
    const view = toGroup(group);
    await this.deps.events.publish('GroupCreated', {
      group: view,
      ownerId,
      memberIds: [ownerId, ...memberIds],
    });
    return view;
  }

  /** A group's public info: members always; others only for `open` and `approval` groups (NOT_A_MEMBER). */
  async get(userId: string, groupId: string): Promise<Group> {
    const group = await this.requireGroup(groupId);
    if (group.joinPolicy === 'invite' && !(await this.deps.store.findMember(groupId, userId))) {
      throw notAMember();
    }
    return toGroup(group);
  }

  /** Groups the caller is in, by group id. */
  async listMine(userId: string, cursor: string | null, limit: number): Promise<Page<Group>> {
    const rows = await this.deps.store.listGroupsOf(userId, idCursor(cursor), limit + 1);
    return toPage(
      rows,
      limit,
      (g) => g.id,
      (page) => page.map(toGroup),
    );
  }

  /** Ids of the live groups the user is in (for messaging's chat list). */
  async groupIdsOf(userId: string): Promise<string[]> {
    return this.deps.store.groupIdsOf(userId);
  }

  /** Group objects of these groups by id; unknown or dissolved ones left out (for messaging's chat list). */
  async publicGroups(groupIds: string[]): Promise<Map<string, Group>> {
    const ids = [...new Set(groupIds)].filter((id) => /^[1-9]\d{0,18}$/.test(id));
    const rows = await this.deps.store.findGroups(ids);
    return new Map(rows.map((g) => [g.id, toGroup(g)]));
  }

  /** Changes name, avatar, announcement, join policy or maxMembers; owner or admin. */
  async update(userId: string, groupId: string, changes: GroupChanges): Promise<Group> {
    await this.requireRole(groupId, userId, 'admin');
    if (changes.maxMembers !== undefined) this.checkMaxMembers(changes.maxMembers);
    const outcome = await this.deps.store.updateGroup(groupId, changes);
    if (outcome.kind === 'not_found') throw groupNotFound();
    if (outcome.kind === 'below_count') {
      throw new ConflictError('maxMembers cannot be below the current member count', 'MAX_MEMBERS_TOO_LOW');
    }
    const view = toGroup(outcome.group);
    if (outcome.changed) await this.groupUpdated(view);
    return view;
  }

  /** Dissolves the group (owner only); every member gets `group.dissolved`. */
  async dissolve(userId: string, groupId: string): Promise<void> {
    await this.requireRole(groupId, userId, 'owner');
    const memberIds = await this.deps.store.dissolve(groupId, {
      actorId: userId,
      check: (actor) => assertRole(actor, 'owner'),
    });
    if (!memberIds) throw groupNotFound();
    await this.deps.events.publish('GroupDissolved', { groupId, actorId: userId, memberIds });
  }

  /**
   * Joins by the group's policy: `open` adds the caller (member), `approval` files a join request (request),
   * `invite` refuses (INVITE_ONLY). BANNED, ALREADY_MEMBER, GROUP_FULL.
   */
  async join(
    userId: string,
    groupId: string,
    message: string | null,
  ): Promise<{ kind: 'member'; member: Member } | { kind: 'request'; request: JoinRequest }> {
    const group = await this.requireGroup(groupId);
    if (await this.deps.store.isBanned(groupId, userId)) throw banned();
    if (await this.deps.store.findMember(groupId, userId)) {
      throw new ConflictError('You are already a member', 'ALREADY_MEMBER');
    }
    if (group.joinPolicy === 'invite') {
      throw new ForbiddenError('This group can be joined by invitation only', 'INVITE_ONLY');
    }
    if (group.joinPolicy === 'approval') {
      const request = await this.deps.store.createJoinRequest(groupId, userId, message);
      const [view] = await this.requestViews([request]);
      const managerIds = await this.deps.store.memberIds(groupId, ['owner', 'admin']);
      await this.deps.events.publish('JoinRequested', { groupId, request: view, managerIds });
      return { kind: 'request', request: view };
    }
    const outcome = await this.deps.store.addMembers(groupId, [userId]);
    if (outcome.kind === 'not_found') throw groupNotFound();
    if (outcome.kind === 'full') throw groupFull();
    if (outcome.banned.length) throw banned();
    if (!outcome.added.length) throw new ConflictError('You are already a member', 'ALREADY_MEMBER');
    const [member] = await this.membersJoined(groupId, outcome.added);
    return { kind: 'member', member };
  }

  /**
   * Leaves the group; the owner must transfer first (OWNER_CANNOT_LEAVE). The role is checked again under the
   * group lock, so a transfer to the leaver that lands first makes the leave fail instead of leaving the
   * group with an owner who is not a member.
   */
  async leave(userId: string, groupId: string): Promise<void> {
    const me = await this.requireRole(groupId, userId, 'member');
    assertCanLeave(me);
    await this.deps.store.removeMember(groupId, userId, null, {
      actorId: userId,
      check: (actor) => assertCanLeave(actor),
    });
    const memberIds = await this.deps.store.memberIds(groupId);
    await this.deps.events.publish('MemberLeft', { groupId, userId, memberIds });
  }

  /** Members by user id; members only. */
  async listMembers(
    userId: string,
    groupId: string,
    cursor: string | null,
    limit: number,
  ): Promise<Page<Member>> {
    await this.requireRole(groupId, userId, 'member');
    const rows = await this.deps.store.listMembers(groupId, idCursor(cursor), limit + 1);
    const page = toPage(rows, limit, (m) => m.userId);
    return { items: await this.memberViews(page.items, userId), nextCursor: page.nextCursor };
  }

  /**
   * Adds the inviter's friends; skips non-friends, users blocked either way (`blocked`, not saying which side
   * blocks), banned users and members, saying why. All who are left are added or none (GROUP_FULL). Owner and
   * admins may invite; plain members only in `open` groups.
   */
  async invite(
    userId: string,
    groupId: string,
    userIds: string[],
  ): Promise<{ added: Member[]; skipped: Array<{ userId: string; reason: SkipReason }> }> {
    const group = await this.requireGroup(groupId);
    const me = await this.requireMember(groupId, userId);
    if (me.role === 'member' && group.joinPolicy !== 'open') {
      throw new ForbiddenError('Only the owner and admins may invite to this group');
    }
    const wanted = [...new Set(userIds)];
    const skipped: Array<{ userId: string; reason: SkipReason }> = [];
    const others = wanted.filter((id) => id !== userId);
    const friends = await this.deps.friends.friendsAmong(userId, others);
    const blocked = await this.deps.cache.blockedEitherWay(
      userId,
      others.filter((id) => friends.has(id)),
    );
    const candidates: string[] = [];
    for (const id of wanted) {
      if (id === userId) skipped.push({ userId: id, reason: 'already_member' });
      else if (!friends.has(id)) skipped.push({ userId: id, reason: 'not_friend' });
      else if (blocked.has(id)) skipped.push({ userId: id, reason: 'blocked' });
      else candidates.push(id);
    }
    const outcome = await this.deps.store.addMembers(groupId, candidates);
    if (outcome.kind === 'not_found') throw groupNotFound();
    if (outcome.kind === 'full') throw groupFull();
    for (const id of outcome.existing) skipped.push({ userId: id, reason: 'already_member' });
    for (const id of outcome.banned) skipped.push({ userId: id, reason: 'banned' });
    const added = outcome.added.length ? await this.membersJoined(groupId, outcome.added) : [];
    return { added, skipped };
  }

  /**
   * Changes a member: `role` (owner only, admin or member, never the owner's own), `nickname` (a member's own
   * only), `mutedUntil` (owner or admin, on lower roles only). MEMBER_NOT_FOUND, FORBIDDEN.
   */
  async updateMember(
    actorId: string,
    groupId: string,
    targetId: string,
    changes: { role?: 'admin' | 'member'; nickname?: string | null; mutedUntil?: Date | null },
  ): Promise<Member> {
    const actor = await this.requireRole(groupId, actorId, 'member');
    const target = assertCanUpdateMember(actor, await this.deps.store.findMember(groupId, targetId), changes);
    const updated = await this.deps.store.updateMember(groupId, targetId, changes, {
      actorId,
      check: (a, t) => assertCanUpdateMember(a, t, changes),
    });
    if (!updated) throw memberNotFound();
    const [view] = await this.memberViews([updated]);
    if (memberChanged(target, updated)) {
      await this.deps.events.publish('MemberUpdated', {
        groupId,
        member: view,
        roleChanged: target.role !== updated.role,
        memberIds: await this.deps.store.memberIds(groupId),
      });
    }
    return view;
  }

  /**
   * Removes a member, optionally banning them (a ban also works on a non-member). The owner removes anyone
   * but themself; admins remove plain members only. CANNOT_REMOVE_SELF, MEMBER_NOT_FOUND, FORBIDDEN. Both
   * roles are checked again under the group lock (a transfer may have made the target the owner meanwhile).
   */
  async removeMember(actorId: string, groupId: string, targetId: string, ban: boolean): Promise<void> {
    const actor = await this.requireRole(groupId, actorId, 'admin');
    if (actorId === targetId) {
      throw new ValidationError('Use leave to quit a group', undefined, 'CANNOT_REMOVE_SELF');
    }
    const target = await this.deps.store.findMember(groupId, targetId);
    assertCanRemove(actor, target, ban);
    if (!target) await this.deps.accounts.getPublic(targetId, actorId);
    const memberIds = await this.deps.store.memberIds(groupId);
    const removed = await this.deps.store.removeMember(groupId, targetId, ban ? { by: actorId } : null, {
      actorId,
      check: (a, t) => assertCanRemove(a, t, ban),
    });
    if (removed) {
      await this.deps.events.publish('MemberRemoved', {
        groupId,
        userId: targetId,
        actorId,
        banned: ban,
        memberIds,
      });
    }
  }

  /** Makes a member the owner (owner only); the old owner becomes an admin. MEMBER_NOT_FOUND. */
  async transfer(actorId: string, groupId: string, targetId: string): Promise<Group> {
    await this.requireRole(groupId, actorId, 'owner');
    if (targetId === actorId) return toGroup(await this.requireGroup(groupId));
    if (!(await this.deps.store.transfer(groupId, actorId, targetId))) {
      // Refused under the group lock: say why as things are now (another transfer may have come first).
      await this.requireRole(groupId, actorId, 'owner');
      throw new NotFoundError('The new owner must be a member', 'MEMBER_NOT_FOUND');
    }
    const group = toGroup(await this.requireGroup(groupId));
    const members = (
      await Promise.all([
        this.deps.store.findMember(groupId, actorId),
        this.deps.store.findMember(groupId, targetId),
      ])
    ).filter((m): m is MemberRecord => m !== null);
    await this.deps.events.publish('OwnershipTransferred', {
      group,
      fromUserId: actorId,
      toUserId: targetId,
      members: await this.memberViews(members),
      memberIds: await this.deps.store.memberIds(groupId),
    });
    return group;
  }

  /** Turns mute-all on or off (owner or admin); while on, plain members cannot speak. */
  async setMutedAll(actorId: string, groupId: string, mutedAll: boolean): Promise<Group> {
    await this.requireRole(groupId, actorId, 'admin');
    const group = await this.deps.store.setMutedAll(groupId, mutedAll);
    if (!group) throw groupNotFound();
    const view = toGroup(group);
    await this.groupUpdated(view);
    return view;
  }

  /** Pending join requests, oldest first; owner or admin. */
  async listJoinRequests(
    actorId: string,
    groupId: string,
    cursor: string | null,
    limit: number,
  ): Promise<Page<JoinRequest>> {
    await this.requireRole(groupId, actorId, 'admin');
    const rows = await this.deps.store.listJoinRequests(groupId, idCursor(cursor), limit + 1);
    const page = toPage(rows, limit, (r) => r.id);
    return { items: await this.requestViews(page.items), nextCursor: page.nextCursor };
  }

  /** Approves a join request (owner or admin). JOIN_REQUEST_NOT_FOUND, BANNED, ALREADY_MEMBER, GROUP_FULL. */
  async approveJoinRequest(actorId: string, groupId: string, requestId: string): Promise<Member> {
    await this.requireRole(groupId, actorId, 'admin');
    const outcome = await this.deps.store.approveJoinRequest(groupId, requestId, actorId);
    switch (outcome.kind) {
      case 'not_found':
        throw joinRequestNotFound();
      case 'banned':
        throw banned('This user is banned from the group');
      case 'already_member':
        throw new ConflictError('This user is already a member', 'ALREADY_MEMBER');
      case 'full':
        throw groupFull();
    }
    const [member] = await this.membersJoined(groupId, [outcome.member]);
    return member;
  }

  /** Rejects a join request (owner or admin); the requester gets `group.join_rejected`. */
  async rejectJoinRequest(actorId: string, groupId: string, requestId: string): Promise<void> {
    await this.requireRole(groupId, actorId, 'admin');
    const request = await this.deps.store.rejectJoinRequest(groupId, requestId, actorId);
    if (!request) throw joinRequestNotFound();
    await this.deps.events.publish('JoinRequestRejected', {
      groupId,
      requestId,
      userId: request.userId,
      actorId,
    });
  }

  private checkMaxMembers(maxMembers: number): void {
    const limit = this.deps.limits.maxMembersLimit;
    if (!Number.isInteger(maxMembers) || maxMembers < 2 || maxMembers > limit) {
      throw new ValidationError('Request validation failed', [
        { field: 'maxMembers', message: `must be an integer from 2 to ${limit}` },
      ]);
    }
  }

  private async requireGroup(groupId: string): Promise<GroupRecord> {
    const group = await this.deps.store.findGroup(groupId);
    if (!group) throw groupNotFound();
    return group;
  }

  private async requireMember(groupId: string, userId: string): Promise<MemberRecord> {
    const member = await this.deps.store.findMember(groupId, userId);
    if (!member) throw notAMember();
    return member;
  }

  /** The caller's membership when the group exists and the caller holds at least `role`. */
  private async requireRole(groupId: string, userId: string, role: GroupRole): Promise<MemberRecord> {
    await this.requireGroup(groupId);
    return assertRole(await this.deps.store.findMember(groupId, userId), role);
  }

  /** Publishes `MemberJoined` for the new members; their views. */
  private async membersJoined(groupId: string, added: MemberRecord[]): Promise<Member[]> {
    const members = await this.memberViews(added);
    const memberIds = await this.deps.store.memberIds(groupId);
    await this.deps.events.publish('MemberJoined', { groupId, members, memberIds });
    return members;
  }

  private async groupUpdated(group: Group): Promise<void> {
    const memberIds = await this.deps.store.memberIds(group.id);
    await this.deps.events.publish('GroupUpdated', { group, memberIds });
  }

  /** Member objects, as `viewerId` sees them when given (members who block the viewer look offline). */
  private async memberViews(rows: MemberRecord[], viewerId?: string): Promise<Member[]> {
    const users = await this.deps.accounts.publicUsersByIds(
      rows.map((r) => r.userId),
      viewerId,
    );
    return rows.flatMap((r) => {
      const user = users.get(r.userId);
      if (!user) return [];
      return [
        {
          user,
          role: r.role,
          nickname: r.nickname,
          mutedUntil: r.mutedUntil ? r.mutedUntil.toISOString() : null,
          joinedAt: r.joinedAt.toISOString(),
        },
      ];
    });
  }

  private async requestViews(rows: JoinRequestRecord[]): Promise<JoinRequest[]> {
    const users = await this.deps.accounts.publicUsersByIds(rows.map((r) => r.userId));
    return rows.flatMap((r) => {
      const user = users.get(r.userId);
      return user ? [{ id: r.id, user, message: r.message, createdAt: r.createdAt.toISOString() }] : [];
    });
  }
}

/** The membership when it holds at least `role`; NOT_A_MEMBER, FORBIDDEN. */
function assertRole(member: MemberRecord | null, role: GroupRole): MemberRecord {
  if (!member) throw notAMember();
  if (RANK[member.role] < RANK[role]) {
    throw new ForbiddenError(
      role === 'owner' ? 'Only the owner may do this' : 'Only the owner and admins may do this',
    );
  }
  return member;
}

/** A member may leave unless they are the owner (OWNER_CANNOT_LEAVE). */
function assertCanLeave(me: MemberRecord | null): void {
  if (!me) throw notAMember();
  if (me.role === 'owner') {
    throw new ConflictError('The owner must transfer ownership before leaving', 'OWNER_CANNOT_LEAVE');
  }
}

/** The owner removes anyone (but themself), admins plain members only; a non-member only with a ban. */
function assertCanRemove(actor: MemberRecord | null, target: MemberRecord | null, ban: boolean): void {
  const me = assertRole(actor, 'admin');
  if (!target && !ban) throw memberNotFound();
  if (target && RANK[me.role] <= RANK[target.role]) {
    throw new ForbiddenError('Admins may remove plain members only');
  }
}

/**
 * Roles by the owner (never the owner's own), nicknames by their member, mutes by a higher role; returns the
 * target's membership.
 */
function assertCanUpdateMember(
  actor: MemberRecord | null,
  target: MemberRecord | null,
  changes: { role?: 'admin' | 'member'; nickname?: string | null; mutedUntil?: Date | null },
): MemberRecord {
  const me = assertRole(actor, 'member');
  if (!target) throw memberNotFound();
  if (changes.role !== undefined) {
    if (me.role !== 'owner') throw new ForbiddenError('Only the owner may change roles');
    if (target.role === 'owner') throw new ForbiddenError("The owner's role changes only by transfer");
  }
  if (changes.nickname !== undefined && me.userId !== target.userId) {
    throw new ForbiddenError('Members may set only their own nickname');
  }
  if (changes.mutedUntil !== undefined && (me.role === 'member' || RANK[me.role] <= RANK[target.role])) {
    throw new ForbiddenError('Only the owner and admins may mute, and only members below them');
  }
  return target;
}

function notAMember(): ForbiddenError {
  return new ForbiddenError('You are not a member of this group', 'NOT_A_MEMBER');
}

function memberNotFound(): NotFoundError {
  return new NotFoundError('This user is not a member', 'MEMBER_NOT_FOUND');
}

/** The contract's group object. */
export function toGroup(g: GroupRecord): Group {
  return {
    id: g.id,
    name: g.name,
    avatar: g.avatar,
    announcement: g.announcement,
    ownerId: g.ownerId,
    maxMembers: g.maxMembers,
    memberCount: g.memberCount,
    joinPolicy: g.joinPolicy,
    mutedAll: g.mutedAll,
    createdAt: g.createdAt.toISOString(),
  };
}

function groupNotFound(): NotFoundError {
  return new NotFoundError('Group not found', 'GROUP_NOT_FOUND');
}

function groupFull(): ConflictError {
  return new ConflictError('The group is full', 'GROUP_FULL');
}

function banned(message = 'You are banned from this group'): ForbiddenError {
  return new ForbiddenError(message, 'BANNED');
}

function joinRequestNotFound(): NotFoundError {
  return new NotFoundError('Join request not found', 'JOIN_REQUEST_NOT_FOUND');
}

/** True when a membership's role, nickname or mute differs between the two records. */
function memberChanged(before: MemberRecord, after: MemberRecord): boolean {
  return (
    before.role !== after.role ||
    before.nickname !== after.nickname ||
    (before.mutedUntil?.getTime() ?? null) !== (after.mutedUntil?.getTime() ?? null)
  );
}

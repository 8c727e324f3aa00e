import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../shared/errors';
import type { EventPublisher } from '../../shared/events';
import type { AccountsService, PublicUser } from '../accounts';
import { idCursor, toPage, type Page } from '../../shared/pagination';
import type { FriendsEvents } from './friends.events';
import type { FriendRequestRecord, FriendsStore, FriendshipRecord } from './friends.store';
import type { Friend, FriendRequest } from './friends.views';
export type { Friend, FriendRequest } from './friends.views';

export interface FriendsDeps {
  store: FriendsStore;
  accounts: Pick<AccountsService, 'getPublic' | 'publicUsersByIds'>;
  /** Told what happened: the social cache, messaging and the pushes to clients listen. */
  events: EventPublisher<FriendsEvents>;
}

/** The outcome of sending a request: a new pending request, or an immediate friendship. */
export type SendResult = { kind: 'request'; request: FriendRequest } | { kind: 'friend'; friend: Friend };

/** Friend requests, friendships and blocks; every change is published as a `FriendsEvents` event. */
export class FriendsService {
  constructor(private readonly deps: FriendsDeps) {}

  /**
   * Asks `toUserId` to be friends. When they had already asked the caller, the two become friends at once.
   * CANNOT_FRIEND_SELF, USER_NOT_FOUND, ALREADY_FRIENDS, BLOCKED (either side blocks), REQUEST_PENDING.
   */
  async sendRequest(
    fromUserId: string,
    input: { toUserId: string; message?: string | null; remark?: string | null },
  ): Promise<SendResult> {
    if (fromUserId === input.toUserId) {
      throw new ValidationError('You cannot befriend yourself', undefined, 'CANNOT_FRIEND_SELF');
    }
    await this.deps.accounts.getPublic(input.toUserId, fromUserId);
    const outcome = await this.deps.store.sendRequest({
      fromUserId,
      toUserId: input.toUserId,
      message: input.message ?? null,
      remark: input.remark ?? null,
    });
    switch (outcome.kind) {
      case 'already_friends':
        throw new ConflictError('You are already friends', 'ALREADY_FRIENDS');
      case 'blocked':
        throw new ForbiddenError('You cannot send a friend request to this user', 'BLOCKED');
      case 'pending':
        throw new ConflictError('You already have a pending request to this user', 'REQUEST_PENDING');
      case 'created': {
        const request = (await this.requestViews([outcome.request]))[0];
        await this.deps.events.publish('FriendRequestSent', { request });
        return { kind: 'request', request };
      }
      case 'accepted_reverse': {
        const friend = await this.friendshipStarted(outcome.request, outcome.since, input.remark ?? null);
        return { kind: 'friend', friend };
      }
    }
  }

  /** Accepts a request addressed to the caller. REQUEST_NOT_FOUND (404), REQUEST_NOT_PENDING (409). */
  async accept(userId: string, requestId: string, remark: string | null): Promise<Friend> {
    const outcome = await this.deps.store.acceptRequest(requestId, userId, remark);
    if (outcome.kind === 'not_found')
      throw new NotFoundError('Friend request not found', 'REQUEST_NOT_FOUND');
    if (outcome.kind === 'not_pending') {
      throw new ConflictError(`The request is already ${outcome.status}`, 'REQUEST_NOT_PENDING');
    }
    const mine = await this.deps.store.findFriendship(userId, outcome.request.fromUserId);
    return this.friendshipStarted(outcome.request, outcome.since, mine?.remark ?? remark);
  }

  /** Rejects a request addressed to the caller; the requester gets `friend.rejected`. */
  async reject(userId: string, requestId: string, reply: string | null): Promise<void> {
    const outcome = await this.deps.store.rejectRequest(requestId, userId, reply);
    if (outcome.kind === 'not_found')
      throw new NotFoundError('Friend request not found', 'REQUEST_NOT_FOUND');
    if (outcome.kind === 'not_pending')
      throw new ConflictError('The request is no longer pending', 'REQUEST_NOT_PENDING');
    await this.deps.events.publish('FriendRequestRejected', {
      requestId,
      fromUserId: outcome.request.fromUserId,
      rejecterId: userId,
      reply,
    });
  }

  /** Pending requests to or from the caller, newest first. */
  async listRequests(
    userId: string,
    direction: 'incoming' | 'outgoing',
    cursor: string | null,
    limit: number,
  ): Promise<Page<FriendRequest>> {
    const rows = await this.deps.store.listPendingRequests(userId, direction, idCursor(cursor), limit + 1);
    const page = toPage(rows, limit, (r) => r.id);
    return { items: await this.requestViews(page.items), nextCursor: page.nextCursor };
  }

  /** The caller's friends by user id; hidden ones only with `all`. */
  async listFriends(
    userId: string,
    all: boolean,
    cursor: string | null,
    limit: number,
  ): Promise<Page<Friend>> {
    const rows = await this.deps.store.listFriends(userId, all, idCursor(cursor), limit + 1);
    const page = toPage(rows, limit, (r) => r.friendId);
    return { items: await this.friendViews(page.items, userId), nextCursor: page.nextCursor };
  }

  /** Changes the caller's remark for a friend or hides them from the list. FRIEND_NOT_FOUND (404). */
  async updateFriend(
    userId: string,
    friendId: string,
    changes: { remark?: string | null; hidden?: boolean },
  ): Promise<Friend> {
    const row = await this.deps.store.updateFriendship(userId, friendId, changes);
    if (!row) throw new NotFoundError('This user is not your friend', 'FRIEND_NOT_FOUND');
    return (await this.friendViews([row], userId))[0];
  }

  /** Ends a friendship for both sides; the other side gets `friend.removed`. FRIEND_NOT_FOUND (404). */
  async deleteFriend(userId: string, friendId: string, deleteHistory: boolean): Promise<void> {
    const deleted = await this.deps.store.deleteFriendship(userId, friendId);
    if (!deleted) throw new NotFoundError('This user is not your friend', 'FRIEND_NOT_FOUND');
    await this.deps.events.publish('FriendshipEnded', { userId, friendId, deleteHistory });
  }

  /** Blocks a user (idempotent), cancelling pending requests between the two; the friendship stays. */
  async block(userId: string, targetId: string): Promise<void> {
    if (userId === targetId)
      throw new ValidationError('You cannot block yourself', undefined, 'CANNOT_BLOCK_SELF');
    await this.deps.accounts.getPublic(targetId, userId);
    await this.deps.store.block(userId, targetId);
    await this.deps.events.publish('Blocked', { userId, targetId });
  }

  /** Removes a block (idempotent). */
  async unblock(userId: string, targetId: string): Promise<void> {
    await this.deps.store.unblock(userId, targetId);
    await this.deps.events.publish('Unblocked', { userId, targetId });
  }

  /** Users the caller blocks, by id. */
  async listBlocks(userId: string, cursor: string | null, limit: number): Promise<Page<PublicUser>> {
    const ids = await this.deps.store.listBlocked(userId, idCursor(cursor), limit + 1);
    const page = toPage(ids, limit, (id) => id);
    const users = await this.deps.accounts.publicUsersByIds(page.items, userId);
    return { items: page.items.flatMap((id) => users.get(id) ?? []), nextCursor: page.nextCursor };
  }

  /** Ids of the user's friends. */
  async friendIds(userId: string): Promise<string[]> {
    return this.deps.store.friendIds(userId);
  }

  /** Who hears about the user's presence changes: their friends, except the ones they block. */
  async presenceAudience(userId: string): Promise<string[]> {
    return this.deps.store.friendIds(userId, true);
  }

  /** Which of `candidateIds` are the user's friends. */
  async friendsAmong(userId: string, candidateIds: string[]): Promise<Set<string>> {
    return this.deps.store.friendsAmong(userId, candidateIds);
  }

  /** After a request turned into a friendship: publishes `FriendshipStarted`; the accepter's view. */
  private async friendshipStarted(request: FriendRequestRecord, since: Date, accepterRemark: string | null) {
    const requesterId = request.fromUserId;
    const accepterId = request.toUserId;
    const users = await this.deps.accounts.publicUsersByIds([requesterId, accepterId]);
    const sinceIso = since.toISOString();
    const forRequester: Friend = { user: users.get(accepterId)!, remark: request.remark, since: sinceIso };
    await this.deps.events.publish('FriendshipStarted', {
      requestId: request.id,
      requesterId,
      accepterId,
      greeting: request.message,
      friendOfRequester: forRequester,
    });
    return { user: users.get(requesterId)!, remark: accepterRemark, since: sinceIso };
  }

  /** Friend objects as `viewerId` sees them (friends who block the viewer look offline). */
  private async friendViews(rows: FriendshipRecord[], viewerId: string): Promise<Friend[]> {
    const users = await this.deps.accounts.publicUsersByIds(
      rows.map((r) => r.friendId),
      viewerId,
    );
    return rows.flatMap((r) => {
      const user = users.get(r.friendId);
      return user ? [{ user, remark: r.remark, since: r.since.toISOString() }] : [];
    });
  }

  private async requestViews(rows: FriendRequestRecord[]): Promise<FriendRequest[]> {
    const users = await this.deps.accounts.publicUsersByIds(rows.flatMap((r) => [r.fromUserId, r.toUserId]));
    return rows.flatMap((r) => {
      const from = users.get(r.fromUserId);
      const to = users.get(r.toUserId);
      if (!from || !to) return [];
      return [
        { id: r.id, from, to, message: r.message, status: r.status, createdAt: r.createdAt.toISOString() },
      ];
    });
  }
}

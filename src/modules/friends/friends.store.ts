/** A friend request as stored (ids are decimal strings). */
export interface FriendRequestRecord {
  id: string;
  fromUserId: string;
  toUserId: string;
  message: string | null;
  remark: string | null;
  status: 'pending' | 'accepted' | 'rejected' | 'cancelled';
  reply: string | null;
  createdAt: Date;
}

/** One side of a friendship. */
export interface FriendshipRecord {
  userId: string;
  friendId: string;
  remark: string | null;
  hidden: boolean;
  since: Date;
}

/** What happened to a new friend request. */
export type SendOutcome =
  | { kind: 'created'; request: FriendRequestRecord }
  | { kind: 'accepted_reverse'; request: FriendRequestRecord; since: Date }
  | { kind: 'already_friends' }
  | { kind: 'blocked' }
  | { kind: 'pending' };

/** What happened to an accept. */
export type AcceptOutcome =
  | { kind: 'accepted'; request: FriendRequestRecord; since: Date }
  | { kind: 'not_found' }
  | { kind: 'not_pending'; status: FriendRequestRecord['status'] };

/** Storage of friend requests, friendships and blocks. */
export interface FriendsStore {
  /**
   * In one transaction holding both users' rows: refuses when already friends or blocked either way,
   * accepts the reverse pending request when there is one, otherwise stores a new pending request.
   */
  sendRequest(input: {
    fromUserId: string;
    toUserId: string;
    message: string | null;
    remark: string | null;
  }): Promise<SendOutcome>;
  /** Accepts a pending request addressed to `accepterId`, writing both friendship rows. */
  acceptRequest(requestId: string, accepterId: string, remark: string | null): Promise<AcceptOutcome>;
  /** Rejects a pending request addressed to `userId`; returns the request as it was, or the reason it could not. */
  rejectRequest(
    requestId: string,
    userId: string,
    reply: string | null,
  ): Promise<
    { kind: 'rejected'; request: FriendRequestRecord } | { kind: 'not_found' } | { kind: 'not_pending' }
  >;
  /** Pending requests to (incoming) or from (outgoing) the user, newest first, ids below `beforeId`. */
  listPendingRequests(
    userId: string,
    direction: 'incoming' | 'outgoing',
    beforeId: string | null,
    limit: number,
  ): Promise<FriendRequestRecord[]>;
  /** The user's friendships by friend id ascending after `afterId`; hidden ones only when `includeHidden`. */
  listFriends(
    userId: string,
    includeHidden: boolean,
    afterId: string | null,
    limit: number,
  ): Promise<FriendshipRecord[]>;
  /** The user's side of a friendship, or null. */
  findFriendship(userId: string, friendId: string): Promise<FriendshipRecord | null>;
  /** Changes the user's side of a friendship; null when they are not friends. */
  updateFriendship(
    userId: string,
    friendId: string,
    changes: { remark?: string | null; hidden?: boolean },
  ): Promise<FriendshipRecord | null>;
  /** Deletes both rows of a friendship; false when there was none. */
  deleteFriendship(userId: string, friendId: string): Promise<boolean>;
  /** Ids of all of the user's friends, leaving out the ones the user blocks when `exceptBlocked`. */
  friendIds(userId: string, exceptBlocked?: boolean): Promise<string[]>;
  /** Which of `candidateIds` are friends of the user. */
  friendsAmong(userId: string, candidateIds: string[]): Promise<Set<string>>;
  /** Blocks `blockedId` (idempotent) and cancels pending requests between the two. */
  block(userId: string, blockedId: string): Promise<void>;
  /** Removes a block (idempotent). */
  unblock(userId: string, blockedId: string): Promise<void>;
  /** Ids the user blocks, ascending after `afterId`. */
  listBlocked(userId: string, afterId: string | null, limit: number): Promise<string[]>;
  /** Every id the user blocks (the cache's source for `SocialCache.blockedBy`). */
  blockedIds(userId: string): Promise<string[]>;
  /** Which of `candidateIds` block the user (to whom the user must see them offline). */
  blockersAmong(userId: string, candidateIds: string[]): Promise<Set<string>>;
  /** Friendship and blocks of a pair, `low` < `high` numerically. */
  pairRelation(
    low: string,
    high: string,
  ): Promise<{ friends: boolean; lowBlocksHigh: boolean; highBlocksLow: boolean }>;
}

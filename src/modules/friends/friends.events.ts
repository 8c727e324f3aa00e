import type { Friend, FriendRequest } from './friends.views';

/** What the friends module publishes (see docs/events.md for who listens). */
export type FriendsEvents = {
  /** A pending request was filed; `request` is the object both sides are shown. */
  FriendRequestSent: { request: FriendRequest };
  /** The addressee rejected a pending request. */
  FriendRequestRejected: { requestId: string; fromUserId: string; rejecterId: string; reply: string | null };
  /**
   * Two users became friends (a request was accepted, or two crossing requests met). `greeting` is the
   * request's message; `friendOfRequester` is the accepter as the requester's friend list shows them.
   */
  FriendshipStarted: {
    requestId: string;
    requesterId: string;
    accepterId: string;
    greeting: string | null;
    friendOfRequester: Friend;
  };
  /** `userId` ended the friendship with `friendId`, for both; with `deleteHistory` for their own history. */
  FriendshipEnded: { userId: string; friendId: string; deleteHistory: boolean };
  /** `userId` blocks `targetId` from now on (pending requests between them were cancelled). */
  Blocked: { userId: string; targetId: string };
  /** `userId` no longer blocks `targetId`. */
  Unblocked: { userId: string; targetId: string };
};

/** The ports friends defines for what it calls. */

/** Hooks the friends module calls; messaging implements them. */
export interface FriendshipHooks {
  /** A friendship started by accepting a request; `greeting` (may be null) becomes message seq 1. */
  friendshipStarted(requesterId: string, accepterId: string, greeting: string | null): Promise<void>;
  /** A friendship was deleted; with `deleteHistory` the private conversation is hidden for the deleter only. */
  friendshipDeleted(deleterId: string, otherId: string, deleteHistory: boolean): Promise<void>;
}

/** The part of the social graph cache that friends writes through. */
export interface SocialCache {
  /** Forgets the relation of a pair; called after the change is committed. */
  invalidatePair(a: string, b: string): Promise<void>;
  /** Forgets whom `userId` blocks; called after a block or unblock is committed. */
  invalidateBlocks(userId: string): Promise<void>;
}

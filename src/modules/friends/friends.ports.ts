/** The ports friends defines for what it calls. */

/** The part of the social graph cache that friends writes through. */
export interface SocialCache {
  /** Forgets the relation of a pair; called after the change is committed. */
  invalidatePair(a: string, b: string): Promise<void>;
  /** Forgets whom `userId` blocks; called after a block or unblock is committed. */
  invalidateBlocks(userId: string): Promise<void>;
}

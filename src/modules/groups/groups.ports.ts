/** The types other modules use of groups, and the ports groups defines for what it calls. */

/** A member's role in a group. */
export type GroupRole = 'owner' | 'admin' | 'member';

/** What the hot path needs to know about one group (read by the social graph cache). */
export interface GroupSnapshot {
  exists: boolean;
  mutedAll: boolean;
  members: Array<{ userId: string; role: GroupRole; mutedUntil: Date | null }>;
}

/** The part of the social graph cache that groups reads and writes through. */
export interface SocialCache {
  /** Which of `others` block `a` or are blocked by `a`. */
  blockedEitherWay(a: string, others: string[]): Promise<Set<string>>;
  /** Every user that `userId` blocks (they see `userId` offline in member events). */
  blockedBy(userId: string): Promise<Set<string>>;
  /** Forgets a group's state; called after any change to the group or its members is committed. */
  invalidateGroup(groupId: string): Promise<void>;
}

import { ForbiddenError, NotFoundError } from '../../shared/errors';
import type { GroupRole } from '../groups';
import type { SocialPolicy } from '../messages';
import type { SocialCache } from './social-graph.cache';

const GROUP_ID_RE = /^[1-9]\d{0,18}$/;

/** The social rules messaging asks on every send, answered from the Redis cache (one round trip on a hit). */
export class CachedSocialPolicy implements SocialPolicy {
  constructor(
    private readonly cache: SocialCache,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws NOT_FRIENDS (403) unless both are friends, BLOCKED (403) when the peer blocks the sender. */
  async assertCanMessageUser(senderId: string, peerId: string): Promise<void> {
    const rel = senderId === peerId ? null : await this.cache.relation(senderId, peerId);
    if (!rel || !rel.friends) throw new ForbiddenError('You can message only your friends', 'NOT_FRIENDS');
    if (rel.bBlocksA) throw new ForbiddenError('This user does not accept your messages', 'BLOCKED');
  }

  /** Throws CONVERSATION_NOT_FOUND (404), NOT_A_MEMBER (403) or MUTED (403). */
  async assertCanSpeakInGroup(senderId: string, groupId: string): Promise<void> {
    if (!GROUP_ID_RE.test(groupId))
      throw new NotFoundError('Conversation not found', 'CONVERSATION_NOT_FOUND');
    const { exists, mutedAll, member } = await this.cache.groupMember(groupId, senderId);
    if (!exists) throw new NotFoundError('Conversation not found', 'CONVERSATION_NOT_FOUND');
    if (!member) throw new ForbiddenError('You are not a member of this group', 'NOT_A_MEMBER');
    if (member.mutedUntilMs !== null && member.mutedUntilMs > this.now()) {
      throw new ForbiddenError('You are muted in this group', 'MUTED');
    }
    if (mutedAll && member.role === 'member') {
      throw new ForbiddenError('Only the owner and admins may speak while the group is muted', 'MUTED');
    }
  }

  /** Every user that `userId` blocks: they get none of `userId`'s read receipts or typing notices. */
  usersBlockedBy(userId: string): Promise<Set<string>> {
    return this.cache.blockedBy(userId);
  }

  /** Ids of every member of the group; empty when the group does not exist. */
  async groupMemberIds(groupId: string): Promise<string[]> {
    if (!GROUP_ID_RE.test(groupId)) return [];
    const members = await this.cache.groupMembers(groupId);
    return members ? [...members.keys()] : [];
  }

  /** The user's role in the group, or null when not a member (or the group does not exist). */
  async groupRole(groupId: string, userId: string): Promise<GroupRole | null> {
    if (!GROUP_ID_RE.test(groupId)) return null;
    const { exists, member } = await this.cache.groupMember(groupId, userId);
    return exists && member ? member.role : null;
  }
}

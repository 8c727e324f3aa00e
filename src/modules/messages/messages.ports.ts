/** What messaging needs from the social graph (implemented by the friends and groups modules). */

export type GroupRole = 'owner' | 'admin' | 'member';

export interface SocialPolicy {
  /** Throws NOT_FRIENDS (403) unless both are friends, BLOCKED (403) when the peer blocks the sender. */
  assertCanMessageUser(senderId: string, peerId: string): Promise<void>;
  /**
   * Throws CONVERSATION_NOT_FOUND (404) for an unknown or dissolved group, NOT_A_MEMBER (403),
   * MUTED (403) when the member is muted or mute-all applies to a plain member.
   */
  assertCanSpeakInGroup(senderId: string, groupId: string): Promise<void>;
  /** Ids of every member of the group (for fan-out); empty when the group does not exist. */
  groupMemberIds(groupId: string): Promise<string[]>;
  /** The user's role in the group, or null when not a member. */
  groupRole(groupId: string, userId: string): Promise<GroupRole | null>;
  /** Every user that `userId` blocks (they get none of `userId`'s read receipts or typing notices). */
  usersBlockedBy(userId: string): Promise<Set<string>>;
}

/** What the chat list shows about groups (implemented by the groups module). */
export interface GroupDirectory {
  /** Ids of the groups the user is a member of. */
  groupIdsOf(userId: string): Promise<string[]>;
  /** The public group objects (as `GET /api/v1/groups/{id}` returns them) of these groups; unknown ids left out. */
  publicGroups(groupIds: string[]): Promise<Map<string, { id: string }>>;
}

/** What messaging needs to know about users (implemented by the accounts module). */
export interface UserDirectory {
  /** Public user objects of these users as `viewerId` sees them; unknown ids left out. */
  publicUsersByIds(userIds: string[], viewerId?: string): Promise<Map<string, { id: string }>>;
  /** The user's role, or null when there is no active user with this id. */
  roleOf(userId: string): Promise<'user' | 'admin' | null>;
}

/** What a message takes from an upload (its fields as the uploads module describes them). */
export interface UploadAttachment {
  kind: 'image' | 'voice' | 'video' | 'file';
  url: string;
  mime: string;
  size: number;
  name: string;
  width: number | null;
  height: number | null;
  duration: number | null;
  thumbUrl: string | null;
}

/** What messaging needs from uploads (implemented by the uploads module). */
export interface UploadAttachments {
  /** The upload's fields when it exists and belongs to `userId`; null otherwise. */
  attachmentFor(userId: string, uploadId: string): Promise<UploadAttachment | null>;
  /** Records that a stored message refers to the upload, so its readers may read the upload. */
  attach(uploadId: string, messageId: string, conversationId: string): Promise<void>;
  /** Forgets what a message referred to (it was recalled). */
  detach(messageId: string): Promise<void>;
}

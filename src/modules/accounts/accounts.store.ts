/** Presence a user chooses for themself. */
export type PresenceChoice = 'online' | 'away' | 'busy' | 'invisible';
export type UserStatus = 'active' | 'disabled' | 'deleted';
export type UserRole = 'user' | 'admin';

/** A user row as the store returns it (ids are decimal strings). */
export interface UserRecord {
  id: string;
  username: string;
  domain: string;
  passwordHash: string | null;
  nickname: string;
  avatar: string | null;
  birthDate: string | null;
  presence: PresenceChoice;
  status: UserStatus;
  role: UserRole;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewUser {
  username: string;
  passwordHash: string;
  nickname: string;
  birthDate: string | null;
}

export interface ProfileChanges {
  nickname?: string;
  avatar?: string | null;
  birthDate?: string | null;
  presence?: PresenceChoice;
}

/** A place in the (nickname, id) order of a nickname search. */
export interface NicknamePosition {
  nickname: string;
  id: string;
}

/** Storage of accounts. */
export interface AccountsStore {
  /** Inserts a user; throws UsernameTakenError when the username exists (case-insensitively). */
  create(user: NewUser): Promise<UserRecord>;
  /** The user with this id, whatever its status; null when none. */
  findById(id: string): Promise<UserRecord | null>;
  /** Users with these ids (any status), in no particular order. */
  findByIds(ids: string[]): Promise<UserRecord[]>;
  /** The local user with this username (case-insensitive); null when none. */
  findByUsername(username: string): Promise<UserRecord | null>;
  /** Applies profile changes and returns the updated user; null when none. */
  updateProfile(id: string, changes: ProfileChanges): Promise<UserRecord | null>;
  /** Replaces the password hash. */
  updatePassword(id: string, passwordHash: string): Promise<void>;
  /** Sets the status (active, disabled, deleted). */
  setStatus(id: string, status: UserStatus): Promise<void>;
  /** Sets the role. */
  setRole(id: string, role: UserRole): Promise<void>;
  /**
   * Active users whose nickname starts with `prefix` (matched literally, ignoring case), ordered by
   * (nickname, id), after `after`, leaving out `excludeId` and, with `viewerId`, the users who block them.
   */
  searchByNickname(
    prefix: string,
    after: NicknamePosition | null,
    excludeId: string | null,
    limit: number,
    viewerId?: string,
  ): Promise<UserRecord[]>;
}

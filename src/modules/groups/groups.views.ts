import type { PublicUser } from '../accounts';
import type { GroupRole } from './groups.ports';
import type { JoinPolicy } from './groups.store';

// The shapes the contract shows, shared by the service, its events and its pushes.
/** A group as the contract shows it (a type alias, so it fits `Record<string, unknown>` ports). */
export type Group = {
  id: string;
  name: string;
  avatar: string | null;
  announcement: string | null;
  ownerId: string;
  maxMembers: number;
  memberCount: number;
  joinPolicy: JoinPolicy;
  mutedAll: boolean;
  createdAt: string;
};

/** A member as the contract shows it. */
export interface Member {
  user: PublicUser;
  role: GroupRole;
  nickname: string | null;
  mutedUntil: string | null;
  joinedAt: string;
}

/** A pending join request as the contract shows it. */
export interface JoinRequest {
  id: string;
  user: PublicUser;
  message: string | null;
  createdAt: string;
}

import type { PublicUser } from '../accounts';
import type { FriendRequestRecord } from './friends.store';

// The shapes the contract shows, shared by the service, its events and its pushes.
/** A friend as the contract shows it. */
export interface Friend {
  user: PublicUser;
  remark: string | null;
  since: string;
}

/** A friend request as the contract shows it. */
export interface FriendRequest {
  id: string;
  from: PublicUser;
  to: PublicUser;
  message: string | null;
  status: FriendRequestRecord['status'];
  createdAt: string;
}

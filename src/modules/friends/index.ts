/** What other modules may use of friends; they import this file, never the files behind it. */
export type { FriendsService } from './friends.service';

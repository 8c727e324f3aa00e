import type { PresenceChoice, ProfileChanges, UserStatus } from './accounts.store';

/** What the accounts module publishes (see docs/events.md for who listens). */
export type AccountsEvents = {
  /** A new account was created (by registration). */
  UserRegistered: { userId: string };
  /** The user changed their own profile; `fields` names what they sent, `presence` is the choice after. */
  ProfileChanged: {
    userId: string;
    fields: Array<keyof ProfileChanges>;
    presence: PresenceChoice;
    previousPresence: PresenceChoice;
  };
  /** An administrator took an account out of `active`; it may no longer act anywhere. */
  AccountDisabled: { userId: string; status: Exclude<UserStatus, 'active'>; adminId: string };
  /** One token was revoked (logout): it is refused from now on. */
  TokenRevoked: { userId: string; jti: string };
  /** Every token of the user issued at or before `before` (ms), except `keepJti`, was revoked. */
  SessionsRevoked: { userId: string; before: number; keepJti: string | null };
};

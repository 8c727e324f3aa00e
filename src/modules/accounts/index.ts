/** What other modules may use of accounts; they import this file, never the files behind it. */
export { authOf, requireAuth } from './auth.middleware';
export type {
  AccountCutOff,
  AccountsService,
  PresenceChangeListener,
  PresenceReader,
  PublicUser,
} from './accounts.service';
export type { PresenceChoice, UserStatus } from './accounts.store';
export type { TokenClaims, TokenService } from './tokens';

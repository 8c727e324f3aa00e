import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { ShortLivedStore } from '../../shared/short-lived';
import { randomToken } from '../../shared/ids';
import { UnauthenticatedError } from '../../shared/errors';
import type { EventPublisher } from '../../shared/events';
import type { AccountsEvents } from './accounts.events';

/** What a valid token says. */
export interface TokenClaims {
  userId: string;
  jti: string;
  /** Issue time in milliseconds. */
  issuedAt: number;
  /** Expiry in milliseconds. */
  expiresAt: number;
}

/** Tells whether a user may still act (false for disabled and deleted accounts). */
export type AccountCheck = (userId: string) => Promise<boolean>;

/**
 * Told about every revocation (on `TokenRevoked` and `SessionsRevoked`), after it is stored, so that sessions
 * that outlive a single request (the WebSocket connections holding the token) end too. The gateway does not
 * reject when Redis fails to route the revocation, but routes it again once Redis answers.
 */
export interface RevocationListener {
  /** The token `jti` of `userId` was revoked (logout). */
  tokenRevoked(userId: string, jti: string): Promise<void>;
  /** Every token of `userId` issued at or before `before` (ms), except `keepJti`, was revoked. */
  tokensRevokedBefore(userId: string, before: number, keepJti: string | null): Promise<void>;
}

/** A cut-off revocation: every token of a user issued at or before `before` (ms), except `keep`. */
export interface RevokeBefore {
  before: number;
  keep: string | null;
}

/** Whether the cut-off `rb` revokes the token `jti` issued at `issuedAt` (ms). */
export function revokedBy(rb: RevokeBefore, jti: string, issuedAt: number): boolean {
  return issuedAt <= rb.before && jti !== rb.keep;
}

/** What the token service is wired with besides its storage and secret. */
export interface TokenWiring {
  /** Refuses the tokens of accounts it refuses (disabled or deleted); backed by the accounts store. */
  isActive: AccountCheck;
  /** Told about every revocation after it is stored (`TokenRevoked`, `SessionsRevoked`). */
  events: EventPublisher<Pick<AccountsEvents, 'TokenRevoked' | 'SessionsRevoked'>>;
}

/** Issues, verifies and revokes access tokens (JWT with a jti; revocations are short-lived keys). */
export class TokenService {
  // Given a string, jsonwebtoken first tries to parse it as a PEM key on every call and builds a secret key
  // from it only after that throws; a KeyObject made once skips both.
  private readonly key: KeyObject;

  constructor(
    private readonly revocations: ShortLivedStore,
    secret: string,
    private readonly ttlSeconds: number,
    private readonly wiring: TokenWiring,
  ) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  /** Signs a new token for the user. */
  issue(userId: string): { token: string; claims: TokenClaims } {
    const jti = randomToken(16);
    const issuedAt = Date.now();
    const expiresAt = issuedAt + this.ttlSeconds * 1000;
    const token = jwt.sign({ sub: userId, jti, iatMs: issuedAt }, this.key, {
      algorithm: 'HS256',
      expiresIn: this.ttlSeconds,
    });
    return { token, claims: { userId, jti, issuedAt, expiresAt } };
  }

  /** Checks signature, expiry, revocation and the account; throws UNAUTHENTICATED otherwise. */
  async verify(token: string): Promise<TokenClaims> {
    let payload: jwt.JwtPayload;
    try {
      const decoded = jwt.verify(token, this.key, { algorithms: ['HS256'] });
      if (typeof decoded === 'string') throw new Error('bad payload');
      payload = decoded;
    } catch {
      throw new UnauthenticatedError('Invalid or expired token');
    }
    const userId = typeof payload.sub === 'string' ? payload.sub : '';
    const jti = typeof payload.jti === 'string' ? payload.jti : '';
    const issuedAt = typeof payload.iatMs === 'number' ? payload.iatMs : (payload.iat ?? 0) * 1000;
    if (!/^\d+$/.test(userId) || !jti || typeof payload.exp !== 'number') {
      throw new UnauthenticatedError('Invalid token');
    }
    const claims: TokenClaims = { userId, jti, issuedAt, expiresAt: payload.exp * 1000 };
    if (await this.isRevoked(claims)) throw new UnauthenticatedError('Token has been revoked');
    if (!(await this.wiring.isActive(userId))) {
      throw new UnauthenticatedError('Account is no longer active');
    }
    return claims;
  }

  /** Whether the token of these (already verified) claims has been revoked since (one store round trip). */
  async isRevoked(claims: TokenClaims): Promise<boolean> {
    const [revoked, before] = await this.revocations.mget([
      this.revokedKey(claims.jti),
      this.revokeBeforeKey(claims.userId),
    ]);
    if (revoked) return true;
    if (!before) return false;
    return revokedBy(JSON.parse(before) as RevokeBefore, claims.jti, claims.issuedAt);
  }

  /** Refuses this token from now on, and ends the connections holding it. */
  async revoke(claims: TokenClaims): Promise<void> {
    const ttl = Math.ceil((claims.expiresAt - Date.now()) / 1000);
    if (ttl > 0) await this.revocations.set(this.revokedKey(claims.jti), '1', ttl);
    await this.wiring.events.publish('TokenRevoked', { userId: claims.userId, jti: claims.jti });
  }

  /** Refuses every token of the user issued until now, except `keepJti`, and ends the connections holding them. */
  async revokeAllOf(userId: string, keepJti: string | null): Promise<void> {
    const value: RevokeBefore = { before: Date.now(), keep: keepJti };
    await this.revocations.set(this.revokeBeforeKey(userId), JSON.stringify(value), this.ttlSeconds + 60);
    await this.wiring.events.publish('SessionsRevoked', { userId, before: value.before, keepJti });
  }

  private revokedKey(jti: string): string {
    return `auth:revoked:${jti}`;
  }

  private revokeBeforeKey(userId: string): string {
    return `auth:revoke-before:${userId}`;
  }
}

import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Redis, RedisKeys } from '../../infra/redis';
import { randomToken } from '../../shared/ids';
import { UnauthenticatedError } from '../../shared/errors';

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

interface RevokeBefore {
  before: number;
  keep: string | null;
}

/** Issues, verifies and revokes access tokens (JWT with a jti; revocations live in Redis). */
export class TokenService {
  private accountCheck: AccountCheck | null = null;
  // Given a string, jsonwebtoken first tries to parse it as a PEM key on every call and builds a secret key
  // from it only after that throws; a KeyObject made once skips both.
  private readonly key: KeyObject;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  /** Makes verify() also refuse the tokens of accounts that `check` refuses (disabled or deleted). */
  checkAccountsWith(check: AccountCheck): void {
    this.accountCheck = check;
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
    const [revoked, before] = await this.redis.mget(this.revokedKey(jti), this.revokeBeforeKey(userId));
    if (revoked) throw new UnauthenticatedError('Token has been revoked');
    if (before) {
      const rb = JSON.parse(before) as RevokeBefore;
      if (issuedAt <= rb.before && jti !== rb.keep) throw new UnauthenticatedError('Token has been revoked');
    }
    if (this.accountCheck && !(await this.accountCheck(userId))) {
      throw new UnauthenticatedError('Account is no longer active');
    }
    return { userId, jti, issuedAt, expiresAt: payload.exp * 1000 };
  }

  /** Refuses this token from now on. */
  async revoke(claims: TokenClaims): Promise<void> {
    const ttl = Math.ceil((claims.expiresAt - Date.now()) / 1000);
    if (ttl > 0) await this.redis.set(this.revokedKey(claims.jti), '1', 'EX', ttl);
  }

  /** Refuses every token of the user issued until now, except `keepJti`. */
  async revokeAllOf(userId: string, keepJti: string | null): Promise<void> {
    const value: RevokeBefore = { before: Date.now(), keep: keepJti };
    await this.redis.set(this.revokeBeforeKey(userId), JSON.stringify(value), 'EX', this.ttlSeconds + 60);
  }

  private revokedKey(jti: string): string {
    return this.keys.key('auth', 'revoked', jti);
  }

  private revokeBeforeKey(userId: string): string {
    return this.keys.key('auth', 'revoke-before', userId);
  }
}

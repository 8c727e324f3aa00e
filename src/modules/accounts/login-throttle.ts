import { createHash } from 'node:crypto';
import type { Redis, RedisKeys } from '../../infra/redis';

/**
 * Failed logins per (username, client address). Counting per pair means nobody can force the captcha
 * on someone else's logins from their own address, and no account is ever locked. The username is
 * counted under `usernameKey`, so every spelling the database matches to one account shares one count.
 */
export class LoginFailures {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly threshold: number,
    private readonly windowSeconds: number,
  ) {}

  /** True when this pair has failed often enough that the captcha is required. */
  async captchaRequired(username: string, ip: string): Promise<boolean> {
    const n = Number((await this.redis.get(this.key(username, ip))) ?? 0);
    return n >= this.threshold;
  }

  /** Records one failure. */
  async recordFailure(username: string, ip: string): Promise<void> {
    const key = this.key(username, ip);
    await this.redis.multi().incr(key).expire(key, this.windowSeconds).exec();
  }

  /** Forgets the failures after a successful login. */
  async reset(username: string, ip: string): Promise<void> {
    await this.redis.del(this.key(username, ip));
  }

  private key(username: string, ip: string): string {
    const h = createHash('sha256')
      .update(`${usernameKey(username)}\n${ip}`)
      .digest('base64url')
      .slice(0, 22);
    return this.keys.key('auth', 'login-fail', h);
  }
}

/**
 * The name under which the database finds an account: usernames are ASCII (`USERNAME_RE`), and among those
 * characters the column's collation (utf8mb4_unicode_ci) folds letter case only.
 */
export function usernameKey(username: string): string {
  return username.toLowerCase();
}

import { createHash } from 'node:crypto';
import type { ShortLivedStore } from '../../shared/short-lived';

/**
 * Failed logins per (username, client address). Counting per pair means nobody can force the captcha
 * on someone else's logins from their own address, and no account is ever locked. The username is
 * counted under `usernameKey`, so every spelling the database matches to one account shares one count.
 * Each failure restarts the window, so the count lasts until the pair has not failed for `windowSeconds`.
 */
export class LoginFailures {
  constructor(
    private readonly counts: ShortLivedStore,
    private readonly threshold: number,
    private readonly windowSeconds: number,
  ) {}

  /** True when this pair has failed often enough that the captcha is required. */
  async captchaRequired(username: string, ip: string): Promise<boolean> {
    const n = Number((await this.counts.get(this.key(username, ip))) ?? 0);
    return n >= this.threshold;
  }

  /** Records one failure. */
  async recordFailure(username: string, ip: string): Promise<void> {
    await this.counts.increment(this.key(username, ip), this.windowSeconds);
  }

  /** Forgets the failures after a successful login. */
  async reset(username: string, ip: string): Promise<void> {
    await this.counts.del(this.key(username, ip));
  }

  private key(username: string, ip: string): string {
    const h = createHash('sha256')
      .update(`${usernameKey(username)}\n${ip}`)
      .digest('base64url')
      .slice(0, 22);
    return `auth:login-fail:${h}`;
  }
}

/**
 * The name under which the database finds an account: usernames are ASCII (`USERNAME_RE`), and among those
 * characters the column's collation (utf8mb4_unicode_ci) folds letter case only.
 */
export function usernameKey(username: string): string {
  return username.toLowerCase();
}

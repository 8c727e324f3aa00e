import type { ShortLivedStore } from '../../shared/short-lived';
import type { Redis, RedisKeys } from '../redis';

/** Short-lived keys in Redis under `<prefix><key>`, shared by every instance of a deployment. */
export class RedisShortLivedStore implements ShortLivedStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async get(key: string): Promise<string | null> {
    return this.redis.get(this.keys.key(key));
  }

  async mget(keys: string[]): Promise<Array<string | null>> {
    if (!keys.length) return [];
    return this.redis.mget(...keys.map((k) => this.keys.key(k)));
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.keys.key(key), value, 'PX', ms(ttlSeconds));
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.set(this.keys.key(key), value, 'PX', ms(ttlSeconds), 'NX')) === 'OK';
  }

  async getDel(key: string): Promise<string | null> {
    return this.redis.getdel(this.keys.key(key));
  }

  async del(key: string): Promise<void> {
    await this.redis.del(this.keys.key(key));
  }

  async increment(key: string, ttlSeconds: number): Promise<number> {
    const k = this.keys.key(key);
    const replies = await this.redis.multi().incr(k).pexpire(k, ms(ttlSeconds)).exec();
    const [err, count] = replies?.[0] ?? [new Error('transaction aborted'), null];
    if (err) throw err;
    return Number(count);
  }
}

/** A TTL in whole milliseconds, at least one (Redis refuses 0). */
function ms(ttlSeconds: number): number {
  return Math.max(1, Math.ceil(ttlSeconds * 1000));
}

import type { GenerationCache } from '../../shared/generation-cache';
import type { Redis, RedisKeys } from '../redis';

// Stores the value only when the generation is still the one read before the source was queried, so a
// fill racing with an invalidation never writes stale data back.
const FILL_STRING = `
local g = redis.call('GET', KEYS[2]) or ''
if g == ARGV[1] then redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[2]) return 1 end
return 0`;

const FILL_HASH = `
local g = redis.call('GET', KEYS[2]) or ''
if g ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1`;

/**
 * The generation cache in Redis under `<prefix><key>`, shared by every instance: strings are Redis strings,
 * hashes Redis hashes, a generation a counter; fills check it in a script, bumps run in one transaction.
 */
export class RedisGenerationCache implements GenerationCache {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async get(keys: string[]): Promise<Array<string | null>> {
    if (!keys.length) return [];
    if (keys.length === 1) return [await this.redis.get(this.keys.key(keys[0]))];
    return this.redis.mget(...keys.map((k) => this.keys.key(k)));
  }

  async getFields(key: string, fields: string[]): Promise<Array<string | null>> {
    if (!fields.length) return [];
    return this.redis.hmget(this.keys.key(key), ...fields);
  }

  async getAllFields(key: string): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.redis.hgetall(this.keys.key(key))));
  }

  async generation(genKey: string): Promise<string> {
    return (await this.redis.get(this.keys.key(genKey))) ?? '';
  }

  async fillString(
    key: string,
    value: string,
    ttlSeconds: number,
    genKey: string,
    gen: string,
  ): Promise<boolean> {
    const k = this.keys;
    return (
      (await this.redis.eval(FILL_STRING, 2, k.key(key), k.key(genKey), gen, ttl(ttlSeconds), value)) === 1
    );
  }

  async fillFields(
    key: string,
    fields: ReadonlyMap<string, string>,
    ttlSeconds: number,
    genKey: string,
    gen: string,
  ): Promise<boolean> {
    const args: string[] = [];
    for (const [f, v] of fields) args.push(f, v);
    const k = this.keys;
    return (
      (await this.redis.eval(FILL_HASH, 2, k.key(key), k.key(genKey), gen, ttl(ttlSeconds), ...args)) === 1
    );
  }

  async bump(genKey: string, key: string, genTtlSeconds: number): Promise<void> {
    const g = this.keys.key(genKey);
    const replies = await this.redis
      .multi()
      .incr(g)
      .expire(g, ttl(genTtlSeconds))
      .del(this.keys.key(key))
      .exec();
    const failed = replies?.find(([err]) => err);
    if (!replies || failed) throw failed?.[0] ?? new Error('transaction aborted');
  }
}

/** A TTL in whole seconds, at least one. */
function ttl(seconds: number): number {
  return Math.max(1, Math.ceil(seconds));
}

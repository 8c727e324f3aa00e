import { closeRedisClients, createRedisClients, type RedisClients } from '../../src/infra/redis';
import { RedisGenerationCache } from '../../src/infra/redis/generation-cache.redis';
import { redisLimiters } from '../../src/infra/redis/rate-limit.redis';
import { RedisShortLivedStore } from '../../src/infra/redis/short-lived.redis';
import { describeWith } from '../helpers/servers';
import { isolation } from '../helpers/app';
import { sleep } from './engine-handle';
import { generationCacheContract } from './generation-cache.contract';
import { rateLimitContract } from './rate-limit.contract';
import { shortLivedContract } from './short-lived.contract';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';

/** Clients under a prefix of their own; closing removes every key under it. */
async function openRedis(): Promise<{ redis: RedisClients; close: () => Promise<void> }> {
  const redis = await createRedisClients(REDIS_URL, isolation().prefix);
  return {
    redis,
    close: async () => {
      const keys = await redis.command.keys(`${redis.keys.prefix}*`);
      if (keys.length) await redis.command.del(...keys);
      await closeRedisClients(redis);
    },
  };
}

describeWith('redis')('Redis engines', () => {
  shortLivedContract('Redis', async () => {
    const { redis, close } = await openRedis();
    return { engine: new RedisShortLivedStore(redis.command, redis.keys), elapse: sleep, close };
  });

  rateLimitContract('Redis', async () => {
    const { redis, close } = await openRedis();
    return { limiters: redisLimiters(redis.command, redis.keys), close };
  });

  generationCacheContract('Redis', async () => {
    const { redis, close } = await openRedis();
    return { engine: new RedisGenerationCache(redis.command, redis.keys), elapse: sleep, close };
  });

  describe('Redis engines keep the key names of earlier releases', () => {
    let redis: RedisClients;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ redis, close } = await openRedis());
    });
    afterAll(() => close());

    it('places short-lived keys and cache entries under the prefix, as `<prefix><logical key>`', async () => {
      await new RedisShortLivedStore(redis.command, redis.keys).set('captcha:abc', 'x1y2', 60);
      expect(await redis.command.get(`${redis.keys.prefix}captcha:abc`)).toBe('x1y2');
      const cache = new RedisGenerationCache(redis.command, redis.keys);
      await cache.bump('social:pairgen:1:2', 'social:pair:1:2', 60);
      expect(await redis.command.get(`${redis.keys.prefix}social:pairgen:1:2`)).toBe('1');
    });
  });
});

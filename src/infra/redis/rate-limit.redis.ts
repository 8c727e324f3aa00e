import { RateLimiterRedis } from 'rate-limiter-flexible';
import { FlexibleLimiter, windowSeconds, type LimitSpec, type LimiterFactory } from '../../shared/rate-limit';
import type { Redis, RedisKeys } from '../redis';

/**
 * A fixed-window limit counted in Redis under `<prefix>rl:<name>:<key>`, so every instance of a deployment
 * draws on the same budget. With 0 points it allows everything without asking Redis.
 */
export class RedisRateLimiter extends FlexibleLimiter {
  constructor(redis: Redis, keys: RedisKeys, name: string, spec: LimitSpec) {
    super(
      spec.points > 0
        ? new RateLimiterRedis({
            storeClient: redis,
            keyPrefix: keys.key('rl', name),
            points: spec.points,
            duration: windowSeconds(spec),
          })
        : null,
    );
  }
}

/** Makes Redis limiters on one client and prefix. */
export function redisLimiters(redis: Redis, keys: RedisKeys): LimiterFactory {
  return (name, spec) => new RedisRateLimiter(redis, keys, name, spec);
}

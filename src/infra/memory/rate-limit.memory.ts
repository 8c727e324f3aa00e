import { RateLimiterMemory } from 'rate-limiter-flexible';
import { FlexibleLimiter, windowSeconds, type LimitSpec, type LimiterFactory } from '../../shared/rate-limit';

/**
 * A fixed-window limit counted in this process (rate-limiter-flexible's memory limiter, the same rules as
 * the Redis one): for a single process, where no other instance shares the budget.
 */
export class MemoryRateLimiter extends FlexibleLimiter {
  constructor(name: string, spec: LimitSpec) {
    super(
      spec.points > 0
        ? new RateLimiterMemory({ keyPrefix: name, points: spec.points, duration: windowSeconds(spec) })
        : null,
    );
  }
}

/**
 * Makes in-process limiters. Those of the same name and limit share one budget, as Redis limiters of the same
 * name do (each memory limiter counts on its own otherwise).
 */
export function memoryLimiters(): LimiterFactory {
  const made = new Map<string, MemoryRateLimiter>();
  return (name, spec) => {
    const id = `${name}\n${spec.points}\n${spec.seconds}`;
    let limiter = made.get(id);
    if (!limiter) made.set(id, (limiter = new MemoryRateLimiter(name, spec)));
    return limiter;
  };
}

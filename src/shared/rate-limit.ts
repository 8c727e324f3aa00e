import type { RequestHandler } from 'express';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimitedError } from './errors';

/** Counts actions per key (a user, a client address, a user in a conversation) against a limit. */
export interface Limiter {
  /** Counts one action of `key`; throws RATE_LIMITED, with Retry-After, once the key is over the limit. */
  consume(key: string): Promise<void>;
  /** Counts one action of `key`; answers false once the key is over the limit (for actions dropped quietly). */
  tryConsume(key: string): Promise<boolean>;
}

/** A limit: `points` actions per `seconds`; 0 points lifts the limit. */
export interface LimitSpec {
  points: number;
  seconds: number;
}

/** Makes the limiter called `name` (its own budget, apart from other names) for `spec`; one per engine. */
export type LimiterFactory = (name: string, spec: LimitSpec) => Limiter;

/**
 * A fixed-window limit counted by a rate-limiter-flexible limiter, so that every engine (Redis, memory)
 * applies the same rules. With no limiter (0 points) it allows everything without counting.
 */
export class FlexibleLimiter implements Limiter {
  constructor(private readonly limiter: RateLimiterAbstract | null) {}

  async consume(key: string): Promise<void> {
    const wait = await this.count(key);
    if (wait !== null)
      throw new RateLimitedError(wait, `Too many requests; try again in ${Math.ceil(wait)} s`);
  }

  async tryConsume(key: string): Promise<boolean> {
    return (await this.count(key)) === null;
  }

  /** Counts one action; null when allowed, else the seconds until the window ends. */
  private async count(key: string): Promise<number | null> {
    if (!this.limiter) return null;
    try {
      await this.limiter.consume(key);
      return null;
    } catch (err) {
      if (err instanceof RateLimiterRes) return err.msBeforeNext / 1000;
      throw err;
    }
  }
}

/** The window of `spec` in whole seconds, as rate-limiter-flexible counts it (at least one). */
export function windowSeconds(spec: LimitSpec): number {
  return Math.max(1, spec.seconds);
}

/** Middleware that counts each request against the limit of the authenticated caller (after requireAuth). */
export function limitPerUser(limiter: Limiter): RequestHandler {
  return async (req, _res, next) => {
    await limiter.consume(req.auth?.userId ?? `ip:${req.ip}`);
    next();
  };
}

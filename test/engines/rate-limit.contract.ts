import { RateLimitedError } from '../../src/shared/errors';
import type { LimiterFactory } from '../../src/shared/rate-limit';
import { sleep, uniqueKey } from './engine-handle';

/** The behaviour every rate limiter engine must show (on real time: the library reads the clock itself). */
export function rateLimitContract(
  name: string,
  open: () => Promise<{ limiters: LimiterFactory; close: () => Promise<void> }>,
): void {
  describe(`Limiter contract: ${name}`, () => {
    let limiters: LimiterFactory;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ limiters, close } = await open());
    });
    afterAll(async () => {
      await close?.();
    });

    it('allows the points of a window, then refuses with RATE_LIMITED and a Retry-After', async () => {
      const limiter = limiters(uniqueKey('rl'), { points: 3, seconds: 60 });
      const key = uniqueKey('user');
      for (let i = 0; i < 3; i++) await limiter.consume(key);
      const refusal = await limiter.consume(key).then(
        () => null,
        (err: unknown) => err,
      );
      expect(refusal).toBeInstanceOf(RateLimitedError);
      expect(refusal).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
      const retry = (refusal as RateLimitedError).retryAfterSeconds;
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(retry).toBeLessThanOrEqual(60);
      expect(await limiter.tryConsume(key)).toBe(false);
    });

    it('counts each key and each limiter name apart', async () => {
      const name = uniqueKey('rl');
      const limiter = limiters(name, { points: 1, seconds: 60 });
      const [a, b] = [uniqueKey('a'), uniqueKey('b')];
      expect(await limiter.tryConsume(a)).toBe(true);
      expect(await limiter.tryConsume(a)).toBe(false);
      expect(await limiter.tryConsume(b)).toBe(true);
      expect(await limiters(uniqueKey('rl'), { points: 1, seconds: 60 }).tryConsume(a)).toBe(true);
    });

    it('shares the budget between two limiters of the same name and limit', async () => {
      const name = uniqueKey('rl');
      const key = uniqueKey('user');
      expect(await limiters(name, { points: 1, seconds: 60 }).tryConsume(key)).toBe(true);
      expect(await limiters(name, { points: 1, seconds: 60 }).tryConsume(key)).toBe(false);
    });

    it('allows exactly the points among many concurrent calls', async () => {
      const limiter = limiters(uniqueKey('rl'), { points: 5, seconds: 60 });
      const key = uniqueKey('user');
      const results = await Promise.all(Array.from({ length: 30 }, () => limiter.tryConsume(key)));
      expect(results.filter(Boolean)).toHaveLength(5);
    });

    it('allows again once the window has passed', async () => {
      const limiter = limiters(uniqueKey('rl'), { points: 2, seconds: 1 });
      const key = uniqueKey('user');
      expect(await limiter.tryConsume(key)).toBe(true);
      expect(await limiter.tryConsume(key)).toBe(true);
      expect(await limiter.tryConsume(key)).toBe(false);
      await sleep(1200);
      expect(await limiter.tryConsume(key)).toBe(true);
      expect(await limiter.tryConsume(key)).toBe(true);
      expect(await limiter.tryConsume(key)).toBe(false);
    });

    it('allows everything with 0 points', async () => {
      const limiter = limiters(uniqueKey('rl'), { points: 0, seconds: 60 });
      const key = uniqueKey('user');
      for (let i = 0; i < 20; i++) await limiter.consume(key);
      expect(await limiter.tryConsume(key)).toBe(true);
    });
  });
}

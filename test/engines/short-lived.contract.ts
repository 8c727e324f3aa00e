import type { ShortLivedStore } from '../../src/shared/short-lived';
import { uniqueKey, type EngineHandle } from './engine-handle';

/** The behaviour every ShortLivedStore engine must show. */
export function shortLivedContract(name: string, open: () => Promise<EngineHandle<ShortLivedStore>>): void {
  describe(`ShortLivedStore contract: ${name}`, () => {
    let handle: EngineHandle<ShortLivedStore>;
    let store: ShortLivedStore;
    beforeAll(async () => {
      handle = await open();
      store = handle.engine;
    });
    afterAll(async () => {
      await handle?.close();
    });

    it('answers null for an absent key and the value for a stored one, alone or among others', async () => {
      const [a, b, c] = [uniqueKey('a'), uniqueKey('b'), uniqueKey('c')];
      expect(await store.get(a)).toBeNull();
      await store.set(a, 'one', 60);
      await store.set(c, 'three', 60);
      expect(await store.get(a)).toBe('one');
      expect(await store.mget([a, b, c])).toEqual(['one', null, 'three']);
      expect(await store.mget([])).toEqual([]);
      await store.set(a, 'uno', 60);
      expect(await store.get(a)).toBe('uno');
      await store.del(a);
      await store.del(b);
      expect(await store.mget([a, c])).toEqual([null, 'three']);
    });

    it('forgets a key once its TTL has passed, for every kind of read, and lets it be set again', async () => {
      const k = uniqueKey('ttl');
      await store.set(k, 'v', 0.3);
      expect(await store.get(k)).toBe('v');
      await handle.elapse(500);
      expect(await store.get(k)).toBeNull();
      expect(await store.mget([k])).toEqual([null]);
      expect(await store.getDel(k)).toBeNull();
      expect(await store.setIfAbsent(k, 'again', 60)).toBe(true);
      expect(await store.get(k)).toBe('again');
    });

    it('gives a replaced value the TTL of the replacement', async () => {
      const k = uniqueKey('reset');
      await store.set(k, 'short', 0.3);
      await store.set(k, 'long', 60);
      await handle.elapse(500);
      expect(await store.get(k)).toBe('long');
    });

    it('lets exactly one of many concurrent setIfAbsent calls win, and keeps its value', async () => {
      const k = uniqueKey('nx');
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.setIfAbsent(k, `v${i}`, 60)),
      );
      const winners = results.flatMap((won, i) => (won ? [i] : []));
      expect(winners).toHaveLength(1);
      expect(await store.get(k)).toBe(`v${winners[0]}`);
      expect(await store.setIfAbsent(k, 'late', 60)).toBe(false);
    });

    it('hands a value to exactly one of many concurrent getDel calls', async () => {
      const k = uniqueKey('getdel');
      await store.set(k, 'answer', 60);
      const results = await Promise.all(Array.from({ length: 20 }, () => store.getDel(k)));
      expect(results.filter((r) => r !== null)).toEqual(['answer']);
      expect(await store.get(k)).toBeNull();
    });

    it('counts concurrent increments exactly, each seeing a count of its own', async () => {
      const k = uniqueKey('incr');
      const counts = await Promise.all(Array.from({ length: 50 }, () => store.increment(k, 60)));
      expect([...counts].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(await store.get(k)).toBe('50');
      await store.del(k);
      expect(await store.increment(k, 60)).toBe(1);
    });

    it('moves the expiry of a counter on with every increment, and starts again from 1 after it', async () => {
      const k = uniqueKey('window');
      expect(await store.increment(k, 1)).toBe(1);
      await handle.elapse(600);
      expect(await store.increment(k, 1)).toBe(2);
      // 1.2 s after the first increment, but only 0.6 s after the second.
      await handle.elapse(600);
      expect(await store.get(k)).toBe('2');
      await handle.elapse(600);
      expect(await store.get(k)).toBeNull();
      expect(await store.increment(k, 1)).toBe(1);
    });
  });
}

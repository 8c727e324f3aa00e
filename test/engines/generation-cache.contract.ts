import type { GenerationCache } from '../../src/shared/generation-cache';
import {
  SocialCache,
  type GroupSnapshot,
  type PairRelation,
  type SocialSources,
} from '../../src/modules/social-graph/social-graph.cache';
import { uniqueKey, type EngineHandle } from './engine-handle';

/** A source of truth the test controls; `during` runs while a fill is reading it. */
class ScriptedSources implements SocialSources {
  relation: PairRelation = { friends: true, lowBlocksHigh: false, highBlocksLow: false };
  group: GroupSnapshot = {
    exists: true,
    mutedAll: false,
    members: [{ userId: '1', role: 'owner', mutedUntil: null }],
  };
  blocked: string[] = [];
  reads = 0;
  during: (() => Promise<void>) | null = null;

  async pairRelation(): Promise<PairRelation> {
    return this.read({ ...this.relation });
  }

  async groupSnapshot(): Promise<GroupSnapshot> {
    return this.read({ ...this.group, members: [...this.group.members] });
  }

  async blockedIds(): Promise<string[]> {
    return this.read([...this.blocked]);
  }

  private async read<T>(answer: T): Promise<T> {
    this.reads++;
    const during = this.during;
    this.during = null;
    if (during) await during();
    return answer;
  }
}

let nextId = 1_000_000 + Math.floor(Math.random() * 1_000_000) * 100;
/** A user or group id no other test uses. */
function id(): string {
  return String(++nextId);
}

/** The behaviour every GenerationCache engine must show, and the social cache's guarantees on top of it. */
export function generationCacheContract(
  name: string,
  open: () => Promise<EngineHandle<GenerationCache>>,
): void {
  describe(`GenerationCache contract: ${name}`, () => {
    let handle: EngineHandle<GenerationCache>;
    let cache: GenerationCache;
    beforeAll(async () => {
      handle = await open();
      cache = handle.engine;
    });
    afterAll(async () => {
      await handle?.close();
    });

    it('misses until filled, then serves strings and hash fields', async () => {
      const [s, h, g] = [uniqueKey('s'), uniqueKey('h'), uniqueKey('g')];
      expect(await cache.get([s])).toEqual([null]);
      expect(await cache.getFields(h, ['a', 'b'])).toEqual([null, null]);
      expect(await cache.getAllFields(h)).toEqual(new Map());
      const gen = await cache.generation(g);
      expect(await cache.fillString(s, 'value', 60, g, gen)).toBe(true);
      expect(await cache.fillFields(h, new Map([['a', '1']]), 60, g, gen)).toBe(true);
      expect(await cache.get([s, uniqueKey('other'), s])).toEqual(['value', null, 'value']);
      expect(await cache.getFields(h, ['a', 'b'])).toEqual(['1', null]);
      expect(await cache.fillFields(h, new Map([['b', '2']]), 60, g, gen)).toBe(true);
      expect(await cache.getAllFields(h)).toEqual(new Map([['b', '2']]));
    });

    it('refuses a fill whose generation was bumped after it was read, and deletes the entry on a bump', async () => {
      const [s, g] = [uniqueKey('s'), uniqueKey('g')];
      const before = await cache.generation(g);
      expect(await cache.fillString(s, 'old', 60, g, before)).toBe(true);
      await cache.bump(g, s, 60);
      expect(await cache.get([s])).toEqual([null]);
      expect(await cache.fillString(s, 'stale', 60, g, before)).toBe(false);
      expect(await cache.fillFields(s, new Map([['f', 'stale']]), 60, g, before)).toBe(false);
      expect(await cache.get([s])).toEqual([null]);
      const after = await cache.generation(g);
      expect(await cache.fillString(s, 'fresh', 60, g, after)).toBe(true);
      expect(await cache.get([s])).toEqual(['fresh']);
    });

    it('refuses every stale fill among many racing with bumps', async () => {
      const keys = Array.from({ length: 20 }, () => ({ data: uniqueKey('s'), gen: uniqueKey('g') }));
      const gens = await Promise.all(keys.map((k) => cache.generation(k.gen)));
      const results = await Promise.all(
        keys.flatMap((k, i) => [
          cache.bump(k.gen, k.data, 60).then(() => 'bumped' as const),
          cache.fillString(k.data, 'stale', 60, k.gen, gens[i]),
        ]),
      );
      expect(results.filter((r) => r === true)).toEqual([]);
      expect(await cache.get(keys.map((k) => k.data))).toEqual(keys.map(() => null));
    });

    it('leaves other generations alone', async () => {
      const [s, g, other] = [uniqueKey('s'), uniqueKey('g'), uniqueKey('g')];
      const gen = await cache.generation(g);
      await cache.bump(other, uniqueKey('s'), 60);
      expect(await cache.fillString(s, 'kept', 60, g, gen)).toBe(true);
    });

    it('drops an entry once its TTL has passed', async () => {
      const [s, h, g] = [uniqueKey('s'), uniqueKey('h'), uniqueKey('g')];
      const gen = await cache.generation(g);
      await cache.fillString(s, 'v', 1, g, gen);
      await cache.fillFields(h, new Map([['a', '1']]), 1, g, gen);
      await handle.elapse(1300);
      expect(await cache.get([s])).toEqual([null]);
      expect(await cache.getFields(h, ['a'])).toEqual([null]);
    });

    describe('under the social cache', () => {
      it('serves a warm pair without the source and sees both directions of a block', async () => {
        const src = new ScriptedSources();
        src.relation = { friends: true, lowBlocksHigh: false, highBlocksLow: true };
        const social = new SocialCache(cache, src);
        const [low, high] = [id(), id()];
        expect(await social.relation(low, high)).toEqual({ friends: true, aBlocksB: false, bBlocksA: true });
        expect(await social.relation(high, low)).toEqual({ friends: true, aBlocksB: true, bBlocksA: false });
        expect(src.reads).toBe(1);
      });

      it('does not keep a pair read before a change that was invalidated during the read', async () => {
        const src = new ScriptedSources();
        const social = new SocialCache(cache, src);
        const [a, b] = [id(), id()];
        src.during = async () => {
          src.relation = { friends: false, lowBlocksHigh: true, highBlocksLow: false };
          await social.invalidatePair(a, b);
        };
        expect(await social.relation(a, b)).toMatchObject({ friends: true, aBlocksB: false });
        expect(await social.relation(a, b)).toMatchObject({ friends: false, aBlocksB: true });
        expect(await social.relation(a, b)).toMatchObject({ friends: false, aBlocksB: true });
        expect(src.reads).toBe(2);
      });

      it('sees a committed pair change after the invalidation, in batch checks too', async () => {
        const src = new ScriptedSources();
        const social = new SocialCache(cache, src);
        const [a, b, c] = [id(), id(), id()];
        expect(await social.blockedEitherWay(a, [b, c])).toEqual(new Set());
        src.relation = { friends: true, lowBlocksHigh: true, highBlocksLow: false };
        expect(await social.blockedEitherWay(a, [b, c])).toEqual(new Set());
        await social.invalidatePair(b, a);
        expect(await social.blockedEitherWay(a, [b, c])).toEqual(new Set([b]));
        expect(src.reads).toBe(3);
      });

      it('does not keep whom a user blocks when a block raced the fill, and sees it after', async () => {
        const src = new ScriptedSources();
        const social = new SocialCache(cache, src);
        const user = id();
        src.blocked = ['5'];
        src.during = async () => {
          src.blocked = ['5', '6'];
          await social.invalidateBlocks(user);
        };
        expect(await social.blockedBy(user)).toEqual(new Set(['5']));
        expect(await social.blockedBy(user)).toEqual(new Set(['5', '6']));
        src.blocked = [];
        await social.invalidateBlocks(user);
        expect(await social.blockedBy(user)).toEqual(new Set());
        expect(await social.blockedBy(user)).toEqual(new Set());
        expect(src.reads).toBe(3);
      });

      it('does not keep a group read before a change invalidated during the read, and sees member changes', async () => {
        const src = new ScriptedSources();
        const social = new SocialCache(cache, src);
        const group = id();
        src.during = async () => {
          src.group = { ...src.group, mutedAll: true };
          await social.invalidateGroup(group);
        };
        expect((await social.groupMember(group, '1')).mutedAll).toBe(false);
        expect(await social.groupMember(group, '1')).toEqual({
          exists: true,
          mutedAll: true,
          member: { role: 'owner', mutedUntilMs: null },
        });
        src.group = {
          exists: true,
          mutedAll: false,
          members: [
            { userId: '1', role: 'owner', mutedUntil: null },
            { userId: '2', role: 'member', mutedUntil: new Date(5000) },
          ],
        };
        expect((await social.groupMember(group, '2')).member).toBeNull();
        await social.invalidateGroup(group);
        expect((await social.groupMember(group, '2')).member).toEqual({ role: 'member', mutedUntilMs: 5000 });
        const members = await social.groupMembers(group);
        expect(members && [...members.entries()].sort(([x], [y]) => Number(x) - Number(y))).toEqual([
          ['1', { role: 'owner', mutedUntilMs: null }],
          ['2', { role: 'member', mutedUntilMs: 5000 }],
        ]);
        src.group = { exists: false, mutedAll: false, members: [] };
        await social.invalidateGroup(group);
        expect(await social.groupMembers(group)).toBeNull();
        expect(await social.groupMember(group, '1')).toEqual({
          exists: false,
          mutedAll: false,
          member: null,
        });
        expect(src.reads).toBe(4);
      });
    });
  });
}

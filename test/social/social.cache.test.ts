import { randomBytes } from 'node:crypto';
import { closeRedisClients, createRedisClients, type RedisClients } from '../../src/infra/redis';
import { RedisGenerationCache } from '../../src/infra/redis/generation-cache.redis';
import {
  SocialCache,
  type GroupSnapshot,
  type PairRelation,
  type SocialSources,
} from '../../src/modules/social-graph/social-graph.cache';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('redis');

/** A source of truth the test controls; `during` runs while a fill is reading it. */
class ScriptedSources implements SocialSources {
  relation: PairRelation = { friends: true, lowBlocksHigh: false, highBlocksLow: false };
  group: GroupSnapshot = {
    exists: true,
    mutedAll: false,
    members: [{ userId: '1', role: 'owner', mutedUntil: null }],
  };
  reads = 0;
  during: (() => Promise<void>) | null = null;

  async pairRelation(): Promise<PairRelation> {
    this.reads++;
    const answer = { ...this.relation };
    if (this.during) await this.during();
    return answer;
  }

  async groupSnapshot(): Promise<GroupSnapshot> {
    this.reads++;
    const answer = { ...this.group, members: [...this.group.members] };
    if (this.during) await this.during();
    return answer;
  }

  blocked: string[] = [];

  async blockedIds(): Promise<string[]> {
    this.reads++;
    const answer = [...this.blocked];
    if (this.during) await this.during();
    return answer;
  }
}

needsServers('SocialCache (Redis)', () => {
  let redis: RedisClients;
  beforeAll(async () => {
    redis = await createRedisClients(
      process.env.REDIS_URL || 'redis://127.0.0.1:6379/0',
      `jimt:${randomBytes(5).toString('hex')}:`,
    );
  });
  afterAll(async () => {
    const keys = await redis.command.keys(`${redis.keys.prefix}*`);
    if (keys.length) await redis.command.del(...keys);
    await closeRedisClients(redis);
  });

  it('serves a warm pair from Redis and sees both directions of a block', async () => {
    const src = new ScriptedSources();
    src.relation = { friends: true, lowBlocksHigh: false, highBlocksLow: true };
    const cache = new SocialCache(new RedisGenerationCache(redis.command, redis.keys), src);
    expect(await cache.relation('2', '10')).toEqual({ friends: true, aBlocksB: false, bBlocksA: true });
    expect(await cache.relation('10', '2')).toEqual({ friends: true, aBlocksB: true, bBlocksA: false });
    expect(src.reads).toBe(1);
  });

  it('never stores what it read before a change that was invalidated during the read', async () => {
    const src = new ScriptedSources();
    const cache = new SocialCache(new RedisGenerationCache(redis.command, redis.keys), src);
    src.during = async () => {
      // The change commits and is invalidated while the fill is still reading the old state.
      src.during = null;
      src.relation = { friends: true, lowBlocksHigh: true, highBlocksLow: false };
      await cache.invalidatePair('3', '4');
    };
    expect((await cache.relation('3', '4')).aBlocksB).toBe(false);
    expect((await cache.relation('3', '4')).aBlocksB).toBe(true);
    expect(src.reads).toBe(2);
  });

  it('tells which of many users are blocked either way: one MGET when warm, misses filled from the source', async () => {
    // Pairs of '900' with: 901 (900 blocks 901), 902 (902 blocks 900), 903 (friends only), 10 (10 blocks 900).
    const truth: Record<string, PairRelation> = {
      '900:901': { friends: true, lowBlocksHigh: true, highBlocksLow: false },
      '900:902': { friends: true, lowBlocksHigh: false, highBlocksLow: true },
      '900:903': { friends: true, lowBlocksHigh: false, highBlocksLow: false },
      '10:900': { friends: false, lowBlocksHigh: true, highBlocksLow: false },
    };
    let reads = 0;
    const cache = new SocialCache(new RedisGenerationCache(redis.command, redis.keys), {
      pairRelation: async (low, high) => {
        reads++;
        return truth[`${low}:${high}`];
      },
      groupSnapshot: async () => ({ exists: false, mutedAll: false, members: [] }),
      blockedIds: async () => [],
    });
    const ids = ['901', '902', '903', '10', '901', '900'];
    expect([...(await cache.blockedEitherWay('900', ids))].sort()).toEqual(['10', '901', '902']);
    expect(reads).toBe(4);
    expect([...(await cache.blockedEitherWay('900', ids))].sort()).toEqual(['10', '901', '902']);
    expect(reads).toBe(4);
    truth['900:901'] = { friends: true, lowBlocksHigh: false, highBlocksLow: false };
    await cache.invalidatePair('901', '900');
    expect([...(await cache.blockedEitherWay('900', ids))].sort()).toEqual(['10', '902']);
    expect(reads).toBe(5);
    expect(await cache.blockedEitherWay('900', [])).toEqual(new Set());
  });

  it('keeps whom a user blocks: one GET when warm, refilled after an invalidation, never stale after a racing change', async () => {
    const src = new ScriptedSources();
    src.blocked = ['5', '6'];
    const cache = new SocialCache(new RedisGenerationCache(redis.command, redis.keys), src);
    expect([...(await cache.blockedBy('4'))].sort()).toEqual(['5', '6']);
    expect([...(await cache.blockedBy('4'))].sort()).toEqual(['5', '6']);
    expect(src.reads).toBe(1);
    src.during = async () => {
      src.during = null;
      src.blocked = [];
      await cache.invalidateBlocks('4');
    };
    src.blocked = ['5'];
    await cache.invalidateBlocks('4');
    expect([...(await cache.blockedBy('4'))]).toEqual(['5']);
    expect(await cache.blockedBy('4')).toEqual(new Set());
    expect(src.reads).toBe(3);
  });

  it('the same holds for group state', async () => {
    const src = new ScriptedSources();
    const cache = new SocialCache(new RedisGenerationCache(redis.command, redis.keys), src);
    src.during = async () => {
      src.during = null;
      src.group = {
        exists: true,
        mutedAll: true,
        members: [{ userId: '1', role: 'owner', mutedUntil: null }],
      };
      await cache.invalidateGroup('77');
    };
    expect((await cache.groupMember('77', '1')).mutedAll).toBe(false);
    expect(await cache.groupMember('77', '1')).toEqual({
      exists: true,
      mutedAll: true,
      member: { role: 'owner', mutedUntilMs: null },
    });
  });

  it('caches a missing group and forgets it when told', async () => {
    const src = new ScriptedSources();
    src.group = { exists: false, mutedAll: false, members: [] };
    const cache = new SocialCache(new RedisGenerationCache(redis.command, redis.keys), src);
    expect(await cache.groupMember('88', '1')).toEqual({ exists: false, mutedAll: false, member: null });
    expect(await cache.groupMembers('88')).toBeNull();
    expect(src.reads).toBe(1);
    src.group = {
      exists: true,
      mutedAll: false,
      members: [
        { userId: '1', role: 'owner', mutedUntil: null },
        { userId: '2', role: 'member', mutedUntil: new Date(5000) },
      ],
    };
    await cache.invalidateGroup('88');
    const members = await cache.groupMembers('88');
    expect(members && [...members.entries()].sort(([x], [y]) => Number(x) - Number(y))).toEqual([
      ['1', { role: 'owner', mutedUntilMs: null }],
      ['2', { role: 'member', mutedUntilMs: 5000 }],
    ]);
  });
});

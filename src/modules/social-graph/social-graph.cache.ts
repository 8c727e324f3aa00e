import type { GenerationCache } from '../../shared/generation-cache';
import { errorSummary, LogThrottle } from '../../shared/log-throttle';
import type { Logger } from '../../shared/logger';
import type { GroupRole, GroupSnapshot } from '../groups';
import { compareIds } from '../../shared/pagination';

/** How two users relate; `low` and `high` are the pair's ids in numeric order. */
export interface PairRelation {
  friends: boolean;
  lowBlocksHigh: boolean;
  highBlocksLow: boolean;
}

export type { GroupSnapshot };

/** One member's cached state. */
export interface CachedMember {
  role: GroupRole;
  mutedUntilMs: number | null;
}

/** Reads the truth from the database when the cache misses. */
export interface SocialSources {
  /** The stored relation of the pair (low, high). */
  pairRelation(low: string, high: string): Promise<PairRelation>;
  /** The stored state of a group and all of its members. */
  groupSnapshot(groupId: string): Promise<GroupSnapshot>;
  /** Every user that `userId` blocks. */
  blockedIds(userId: string): Promise<string[]>;
}

const DATA_TTL_SECONDS = 600;
const GEN_TTL_SECONDS = 2 * 86400;
const META = '_g';
/** Cache misses of one batch check filled at once (each is one MySQL query). */
const MISS_BATCH = 16;
/** Invalidations waiting for the store that are remembered; past this the oldest are dropped (their data expires with its TTL). */
const MAX_PENDING_INVALIDATIONS = 10_000;
/** Pause before retrying failed invalidations: doubles from the first to the last while the store stays away. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2000;

/**
 * The social graph's hot-path cache: what to cache, how it is encoded and when it is invalidated, over a
 * generation cache engine (Redis, shared by every instance; or in-process). A hit costs one store read;
 * every change bumps the entry's generation and deletes it (after the database commit), so the next check
 * on any instance reads fresh data, and a fill that raced the change is not kept.
 */
export class SocialCache {
  /** Invalidations whose change is committed but that the store failed to take: generation key -> data key. */
  private readonly pending = new Map<string, { dataKey: string; failure: number }>();
  private failures = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelayMs = RETRY_FIRST_MS;
  private readonly warnings: LogThrottle | null;

  constructor(
    private readonly store: GenerationCache,
    private readonly sources: SocialSources,
    private readonly logger?: Logger,
  ) {
    this.warnings = logger ? new LogThrottle(logger) : null;
  }

  /** Invalidations still waiting for the store (they are retried until it takes them). */
  get pendingInvalidations(): number {
    return this.pending.size;
  }

  /** The pair's ids in order and its cache key. */
  private pair(a: string, b: string): { low: string; high: string; key: string } {
    const [low, high] = compareIds(a, b) <= 0 ? [a, b] : [b, a];
    return { low, high, key: cacheKey('pair', low, high) };
  }

  /** The relation of two users, `a` and `b` in any order, seen from `a`. */
  async relation(a: string, b: string): Promise<{ friends: boolean; aBlocksB: boolean; bBlocksA: boolean }> {
    const { low, high, key } = this.pair(a, b);
    let [raw] = await this.store.get([key]);
    if (raw === null) {
      const genKey = pairGenKey(low, high);
      const gen = await this.store.generation(genKey);
      const rel = await this.sources.pairRelation(low, high);
      raw = `${rel.friends ? 1 : 0}${rel.lowBlocksHigh ? 1 : 0}${rel.highBlocksLow ? 1 : 0}`;
      await this.store.fillString(key, raw, DATA_TTL_SECONDS, genKey, gen);
    }
    const friends = raw[0] === '1';
    const lowBlocksHigh = raw[1] === '1';
    const highBlocksLow = raw[2] === '1';
    return a === low
      ? { friends, aBlocksB: lowBlocksHigh, bBlocksA: highBlocksLow }
      : { friends, aBlocksB: highBlocksLow, bBlocksA: lowBlocksHigh };
  }

  /**
   * Which of `others` block `a` or are blocked by `a` (either way, without saying which). A warm check is
   * one read for all of them; misses are filled like `relation`, a few at a time.
   */
  async blockedEitherWay(a: string, others: string[]): Promise<Set<string>> {
    const ids = [...new Set(others)].filter((id) => id !== a);
    const out = new Set<string>();
    if (!ids.length) return out;
    const raws = await this.store.get(ids.map((id) => this.pair(a, id).key));
    const misses: string[] = [];
    ids.forEach((id, i) => {
      const raw = raws[i];
      if (raw === null || raw === undefined) misses.push(id);
      else if (raw[1] === '1' || raw[2] === '1') out.add(id);
    });
    for (let i = 0; i < misses.length; i += MISS_BATCH) {
      const batch = misses.slice(i, i + MISS_BATCH);
      const rels = await Promise.all(batch.map((id) => this.relation(a, id)));
      rels.forEach((rel, j) => {
        if (rel.aBlocksB || rel.bBlocksA) out.add(batch[j]);
      });
    }
    return out;
  }

  /** Forgets the relation of a pair; call after the change is committed. */
  async invalidatePair(a: string, b: string): Promise<void> {
    const { low, high, key } = this.pair(a, b);
    await this.bump(pairGenKey(low, high), key);
  }

  /**
   * Every user that `userId` blocks (one read when warm): who must not get their read receipts and typing
   * notices. Filled like `relation`.
   */
  async blockedBy(userId: string): Promise<Set<string>> {
    const dataKey = cacheKey('blocks', userId);
    let [raw] = await this.store.get([dataKey]);
    if (raw === null) {
      const genKey = cacheKey('blocksgen', userId);
      const gen = await this.store.generation(genKey);
      raw = (await this.sources.blockedIds(userId)).join(',');
      await this.store.fillString(dataKey, raw, DATA_TTL_SECONDS, genKey, gen);
    }
    return new Set(raw ? raw.split(',') : []);
  }

  /** Forgets whom `userId` blocks; call after a block or unblock is committed (with `invalidatePair`). */
  async invalidateBlocks(userId: string): Promise<void> {
    await this.bump(cacheKey('blocksgen', userId), cacheKey('blocks', userId));
  }

  /** Whether the group exists, its mute-all flag and one member's state (null when not a member). */
  async groupMember(
    groupId: string,
    userId: string,
  ): Promise<{ exists: boolean; mutedAll: boolean; member: CachedMember | null }> {
    let [meta, member] = await this.store.getFields(groupKey(groupId), [META, userId]);
    if (meta === null) {
      const fields = await this.fillGroup(groupId);
      meta = fields.get(META) ?? 'none';
      member = fields.get(userId) ?? null;
    }
    if (meta === 'none') return { exists: false, mutedAll: false, member: null };
    return { exists: true, mutedAll: meta === 'm1', member: member === null ? null : decodeMember(member) };
  }

  /** Every member of the group with its state; null when the group does not exist. */
  async groupMembers(groupId: string): Promise<Map<string, CachedMember> | null> {
    const cached = await this.store.getAllFields(groupKey(groupId));
    const entries = cached.has(META) ? cached : await this.fillGroup(groupId);
    const out = new Map<string, CachedMember>();
    let exists = false;
    for (const [field, value] of entries) {
      if (field === META) exists = value !== 'none';
      else out.set(field, decodeMember(value));
    }
    return exists ? out : null;
  }

  /** Forgets a group's state; call after any change to the group or its members is committed. */
  async invalidateGroup(groupId: string): Promise<void> {
    await this.bump(cacheKey('groupgen', groupId), groupKey(groupId));
  }

  private async fillGroup(groupId: string): Promise<Map<string, string>> {
    const genKey = cacheKey('groupgen', groupId);
    const gen = await this.store.generation(genKey);
    const snap = await this.sources.groupSnapshot(groupId);
    const fields = new Map<string, string>();
    fields.set(META, snap.exists ? (snap.mutedAll ? 'm1' : 'm0') : 'none');
    if (snap.exists) {
      for (const m of snap.members) {
        fields.set(m.userId, `${m.role}|${m.mutedUntil ? m.mutedUntil.getTime() : ''}`);
      }
    }
    await this.store.fillFields(groupKey(groupId), fields, DATA_TTL_SECONDS, genKey, gen);
    return fields;
  }

  /**
   * Bumps the generation and deletes the data. The change is already committed, so a failure does not fail
   * the caller: the invalidation is kept and retried until the store takes it, or a removed member or a new
   * block would go unseen for the data's TTL.
   */
  private async bump(genKey: string, dataKey: string): Promise<void> {
    try {
      await this.bumpNow(genKey, dataKey);
    } catch (err) {
      this.keep(genKey, dataKey, err);
    }
  }

  private async bumpNow(genKey: string, dataKey: string): Promise<void> {
    await this.store.bump(genKey, dataKey, GEN_TTL_SECONDS);
  }

  private keep(genKey: string, dataKey: string, err: unknown): void {
    this.pending.delete(genKey);
    this.pending.set(genKey, { dataKey, failure: ++this.failures });
    if (this.pending.size > MAX_PENDING_INVALIDATIONS) {
      this.pending.delete(this.pending.keys().next().value as string);
    }
    this.warnings?.warn(
      'invalidate',
      { pending: this.pending.size, cause: errorSummary(err) },
      'cache invalidation failed; retrying',
    );
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.retryPending();
    }, this.retryDelayMs);
    this.retryTimer.unref();
  }

  private async retryPending(): Promise<void> {
    for (const [genKey, entry] of [...this.pending]) {
      try {
        await this.bumpNow(genKey, entry.dataKey);
        // A failure of the same key while this ran may be of a later change: it stays for the next round.
        if (this.pending.get(genKey)?.failure === entry.failure) this.pending.delete(genKey);
      } catch {
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, RETRY_MAX_MS);
        this.scheduleRetry();
        return;
      }
    }
    this.retryDelayMs = RETRY_FIRST_MS;
    if (this.pending.size) this.scheduleRetry();
    else this.logger?.info('pending cache invalidations applied');
  }
}

/** The logical name of a cache key (the engine adds its own prefix). */
function cacheKey(...parts: string[]): string {
  return ['social', ...parts].join(':');
}

function pairGenKey(low: string, high: string): string {
  return cacheKey('pairgen', low, high);
}

function groupKey(groupId: string): string {
  return cacheKey('group', groupId);
}

function decodeMember(value: string): CachedMember {
  const [role, until] = value.split('|');
  return { role: role as GroupRole, mutedUntilMs: until ? Number(until) : null };
}

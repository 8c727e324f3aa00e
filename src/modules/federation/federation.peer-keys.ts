import type { KeyObject } from 'node:crypto';
import { withTransaction, type Pool } from '../../infra/mysql';
import type { Logger } from '../../shared/logger';
import { publicKeyOf } from './federation.keys';
import type { PeerHttp, PeerPolicy } from './federation.peers';

/** The well-known document a server publishes at `/.well-known/jim/server`. */
export interface ServerDocument {
  serverName: string;
  federationUrl: string;
  verifyKeys: Record<string, string>;
  oldVerifyKeys: Record<string, { key: string; expiredAt: string }>;
  validUntil: string;
}

/** Says whether a fetch of a peer's keys may happen now (at most one per peer per period, across instances). */
export type FetchGate = (domain: string) => Promise<boolean>;

interface PeerKeyRow {
  public_key: Buffer;
  expired_at: Date | null;
  valid_until: Date;
}

const KEY_ID = /^[A-Za-z0-9:_.-]{1,64}$/;

/** Parses and checks a peer's well-known document; throws on anything unexpected. */
export function parseServerDocument(raw: unknown, expectedName: string): ServerDocument {
  const doc = raw as Partial<ServerDocument> | null;
  if (!doc || typeof doc !== 'object') throw new Error('not an object');
  if (doc.serverName !== expectedName) throw new Error(`serverName is not ${expectedName}`);
  if (typeof doc.federationUrl !== 'string') throw new Error('federationUrl missing');
  if (typeof doc.validUntil !== 'string' || Number.isNaN(Date.parse(doc.validUntil))) {
    throw new Error('validUntil missing');
  }
  const keyBytes = (v: unknown): boolean =>
    typeof v === 'string' && /^[A-Za-z0-9+/]{43}=?$/.test(v) && Buffer.from(v, 'base64').length === 32;
  if (!doc.verifyKeys || typeof doc.verifyKeys !== 'object') throw new Error('verifyKeys missing');
  for (const [id, key] of Object.entries(doc.verifyKeys)) {
    if (!KEY_ID.test(id) || !keyBytes(key)) throw new Error(`bad verify key ${id}`);
  }
  for (const [id, old] of Object.entries(doc.oldVerifyKeys ?? {})) {
    if (!KEY_ID.test(id) || !old || !keyBytes(old.key) || Number.isNaN(Date.parse(old.expiredAt))) {
      throw new Error(`bad old verify key ${id}`);
    }
  }
  return { ...(doc as ServerDocument), oldVerifyKeys: doc.oldVerifyKeys ?? {} };
}

/**
 * Peers' verify keys: read from the cache table while valid (at most FEDERATION_KEY_CACHE_SECONDS, never past
 * the document's validUntil), fetched from the peer's well-known document when none are cached, and fetched
 * again at most once per gate period (across instances) when an unknown key id arrives. Only allowed peers
 * are ever fetched.
 */
export class PeerKeys {
  private readonly inflight = new Map<string, Promise<ServerDocument | null>>();
  private readonly failedAt = new Map<string, number>();

  constructor(
    private readonly deps: {
      pool: Pool;
      policy: PeerPolicy;
      http: PeerHttp;
      gate: FetchGate;
      cacheSeconds: number;
      /** Least time between fetches after a failed one, when nothing is cached (ms). */
      retryAfterFailureMs: number;
      logger: Logger;
      onFetchFailure?: (domain: string) => void;
      now?: () => number;
    },
  ) {}

  /**
   * The key `keyId` of `domain` that may verify a signature created at `createdSec`, or null. A retired key
   * verifies only what was signed before it expired.
   */
  async resolve(domain: string, keyId: string, createdSec: number): Promise<KeyObject | null> {
    if (!this.deps.policy.isAllowed(domain) || !KEY_ID.test(keyId)) return null;
    const now = (this.deps.now ?? Date.now)();
    let row = await this.cached(domain, keyId, now);
    if (!row && (await this.mayFetch(domain, now))) {
      await this.fetchOnce(domain);
      row = await this.cached(domain, keyId, now);
    }
    if (!row) return null;
    if (row.expired_at && createdSec * 1000 >= row.expired_at.getTime()) return null;
    return publicKeyOf(row.public_key);
  }

  /**
   * A peer with fresh keys cached gets one re-fetch per gate period (an unknown key id); a peer with nothing
   * cached is fetched, but not again within the retry period after a failure.
   */
  private async mayFetch(domain: string, now: number): Promise<boolean> {
    const [rows] = await this.deps.pool.query(
      'SELECT 1 FROM federation_peer_keys WHERE domain = ? AND valid_until > ? LIMIT 1',
      [domain, new Date(now)],
    );
    if ((rows as unknown[]).length) return this.deps.gate(domain);
    const failed = this.failedAt.get(domain);
    return failed === undefined || now - failed >= this.deps.retryAfterFailureMs;
  }

  /** One fetch per peer at a time in this process; concurrent callers share it. */
  private fetchOnce(domain: string): Promise<ServerDocument | null> {
    let pending = this.inflight.get(domain);
    if (!pending) {
      pending = this.fetch(domain).finally(() => this.inflight.delete(domain));
      this.inflight.set(domain, pending);
    }
    return pending;
  }

  private async cached(domain: string, keyId: string, now: number): Promise<PeerKeyRow | null> {
    const [rows] = await this.deps.pool.query(
      'SELECT public_key, expired_at, valid_until FROM federation_peer_keys WHERE domain = ? AND key_id = ?',
      [domain, keyId],
    );
    const row = (rows as PeerKeyRow[])[0];
    return row && row.valid_until.getTime() > now ? row : null;
  }

  /** Fetches a peer's document and replaces its cached keys; logs and counts a failure, never throws. */
  async fetch(domain: string): Promise<ServerDocument | null> {
    try {
      const res = await this.deps.http.request(domain, 'GET', '/.well-known/jim/server', {
        accept: 'application/json',
      });
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      const doc = parseServerDocument(JSON.parse(res.body.toString('utf8')), domain);
      const now = (this.deps.now ?? Date.now)();
      const validUntil = new Date(Math.min(Date.parse(doc.validUntil), now + this.deps.cacheSeconds * 1000));
      const rows: unknown[][] = [
        ...Object.entries(doc.verifyKeys).map(([id, key]) => [
          domain,
          id,
          Buffer.from(key, 'base64'),
          null,
          validUntil,
        ]),
        ...Object.entries(doc.oldVerifyKeys).map(([id, old]) => [
          domain,
          id,
          Buffer.from(old.key, 'base64'),
          new Date(old.expiredAt),
          validUntil,
        ]),
      ];
      await withTransaction(this.deps.pool, async (conn) => {
        await conn.query('DELETE FROM federation_peer_keys WHERE domain = ?', [domain]);
        if (rows.length) {
          await conn.query(
            'INSERT INTO federation_peer_keys (domain, key_id, public_key, expired_at, valid_until) VALUES ?',
            [rows],
          );
        }
      });
      this.failedAt.delete(domain);
      return doc;
    } catch (err) {
      this.failedAt.set(domain, (this.deps.now ?? Date.now)());
      this.deps.onFetchFailure?.(domain);
      this.deps.logger.warn({ peer: domain, err: (err as Error).message }, 'federation key fetch failed');
      return null;
    }
  }
}

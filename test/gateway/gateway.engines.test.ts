import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../../src/config';
import { Gateway } from '../../src/gateway/gateway';
import type { PresenceChoice } from '../../src/gateway/presence';
import type { ConnectionClaims, TokenVerifier } from '../../src/gateway/upgrade';
import { requestIdOf } from '../../src/http/middleware';
import { UnauthenticatedError } from '../../src/shared/errors';
import { memoryBackend, redisBackend, type GatewayBackend } from './engine-backends';
import { createLogger } from '../../src/shared/logger';
import { Metrics } from '../../src/shared/metrics';
import { describeWith } from '../helpers/servers';
import { eventually, TestClient, upgradeStatus } from '../helpers/ws-client';

/*
 * The gateway on its own (no MariaDB, no services) over each engine: two instances on one backend, the
 * way two processes share Redis. Tokens are issued by a verifier kept in the test.
 */

const WS: Config['ws'] = {
  maxFrameBytes: 4096,
  framesPerSecond: 20,
  maxConnectionsPerUser: 3,
  maxBufferedBytes: 64 * 1024,
  pingIntervalSeconds: 30,
  accountCheckSeconds: 30,
};
const TTL_SECONDS = 1;

/** Tokens issued and revoked by the test. */
class Tokens implements TokenVerifier {
  private readonly issued = new Map<string, ConnectionClaims>();
  private readonly revoked = new Set<string>();
  private n = 0;

  issue(userId: string): { token: string; claims: ConnectionClaims } {
    const now = Date.now();
    const claims = { userId, jti: `jti-${++this.n}`, issuedAt: now, expiresAt: now + 3_600_000 };
    const token = `token-${this.n}`;
    this.issued.set(token, claims);
    return { token, claims };
  }

  revoke(jti: string): void {
    this.revoked.add(jti);
  }

  async verify(token: string): Promise<ConnectionClaims> {
    const claims = this.issued.get(token);
    if (!claims) throw new UnauthenticatedError('Invalid token');
    if (this.revoked.has(claims.jti)) throw new UnauthenticatedError('Token has been revoked');
    return claims;
  }

  async isRevoked(claims: ConnectionClaims): Promise<boolean> {
    return this.revoked.has(claims.jti);
  }
}

const backends: Array<[string, () => Promise<GatewayBackend>]> = [
  ['memory', memoryBackend],
  ['redis', redisBackend],
];

// The memory engine needs no server; the Redis one runs only when Redis answers (or fails under REQUIRE_ALL).
const withRedis = describeWith('redis');
const runnable = withRedis === describe ? backends : backends.filter(([name]) => name !== 'redis');

describe.each(runnable)('Gateway on the %s engine', (_name, openBackend) => {
  let backend: GatewayBackend;
  const tokens = new Tokens();
  const choices = new Map<string, PresenceChoice>();
  const optedOut = new Set<string>();
  const inactive = new Set<string>();
  // Who hears about a user's presence; each test that checks presence sets it.
  let audience: (userId: string) => Promise<string[]> = async () => [];
  const instances: Array<{ gateway: Gateway; server: http.Server; url: string }> = [];
  const clients: TestClient[] = [];
  let a: (typeof instances)[number];
  let b: (typeof instances)[number];

  async function instance(): Promise<(typeof instances)[number]> {
    const server = http.createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const gateway = new Gateway({
      server,
      ws: WS,
      presenceTtlSeconds: TTL_SECONDS,
      engine: await backend.engine(),
      tokens,
      choices: async (ids) => new Map(ids.map((id) => [id, choices.get(id) ?? 'online'])),
      presenceAudience: (userId) => audience(userId),
      optOuts: async (ids) => new Set(ids.filter((id) => optedOut.has(id))),
      inactiveAmong: async (ids) => new Set(ids.filter((id) => inactive.has(id))),
      logger: createLogger({ level: 'silent' }),
      metrics: new Metrics(),
      allowOrigin: (req) => req.headers.origin !== 'https://elsewhere.example',
      requestIdOf,
    });
    await gateway.start();
    const out = { gateway, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    instances.push(out);
    return out;
  }

  let users = 0;
  /** A new user and a token of theirs. */
  const user = () => {
    const id = `user-${process.pid}-${++users}`;
    return { id, ...tokens.issue(id) };
  };
  const open = async (at: { url: string }, token: string) => {
    const c = await TestClient.connect(at.url, token);
    clients.push(c);
    await c.next('ready');
    return c;
  };

  beforeAll(async () => {
    backend = await openBackend();
    a = await instance();
    b = await instance();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    audience = async () => [];
  });
  afterAll(async () => {
    for (const { gateway, server } of instances) {
      await gateway.stop();
      await new Promise((r) => server.close(r));
    }
    await backend.close();
  });

  it('refuses an upgrade without a valid token (401), from a refused origin (403), on another path (404)', async () => {
    const u = user();
    expect(await upgradeStatus(a.url, '/ws')).toBe(401);
    expect(await upgradeStatus(a.url, '/ws?token=forged')).toBe(401);
    expect(await upgradeStatus(a.url, `/ws?token=${u.token}`, { Origin: 'https://elsewhere.example' })).toBe(
      403,
    );
    expect(await upgradeStatus(a.url, `/other?token=${u.token}`)).toBe(404);
  });

  it('sends ready, then delivers an event to every device of the user on both instances, once', async () => {
    const u = user();
    const [onA, onB] = [await open(a, u.token), await open(b, u.token)];
    await a.gateway.delivery.deliver([u.id, u.id], { type: 'test.event', data: { n: 1 } });
    expect(await onA.next('test.event')).toEqual({ type: 'test.event', data: { n: 1 } });
    expect(await onB.next('test.event')).toEqual({ type: 'test.event', data: { n: 1 } });
    await b.gateway.delivery.deliver([u.id], { type: 'test.marker', data: {} });
    await Promise.all([onA.next('test.marker'), onB.next('test.marker')]);
    expect(onA.frames.concat(onB.frames)).toEqual([]);
  });

  it('refuses connections beyond the limit counted across instances with 429', async () => {
    const u = user();
    await open(a, u.token);
    await open(b, u.token);
    await open(b, u.token);
    expect(await upgradeStatus(a.url, `/ws?token=${u.token}`)).toBe(429);
  });

  it('broadcasts to every connection on both instances except users who opted out', async () => {
    const [u, v, muted] = [user(), user(), user()];
    optedOut.add(muted.id);
    const [cu, cv, cm] = [await open(a, u.token), await open(b, v.token), await open(b, muted.token)];
    await a.gateway.broadcaster.broadcast({ type: 'test.world', data: { n: 1 } });
    expect((await cu.next('test.world')).data).toEqual({ n: 1 });
    expect((await cv.next('test.world')).data).toEqual({ n: 1 });
    // Published after the first and carried in order: once it arrived, the first would have too.
    await a.gateway.broadcaster.broadcast({ type: 'test.recall', data: {} }, { includeOptedOut: true });
    await Promise.all([cu.next('test.recall'), cv.next('test.recall'), cm.next('test.recall')]);
    expect(cm.frames).toEqual([]);
  });

  it('shows a user online through either instance and announces the first and last connection once', async () => {
    const [u, friend] = [user(), user()];
    audience = async (id) => (id === u.id ? [friend.id] : []);
    const f = await open(b, friend.token);
    const onA = await open(a, u.token);
    expect((await f.next('presence')).data).toEqual({ userId: u.id, online: true, presence: 'online' });
    expect(await b.gateway.presence.onlineUserIds([u.id])).toEqual(new Set([u.id]));
    const onB = await open(b, u.token);
    await onA.close();
    await onB.close();
    expect((await f.next('presence')).data).toEqual({ userId: u.id, online: false, presence: 'offline' });
    expect(await a.gateway.presence.onlineUserIds([u.id])).toEqual(new Set());
    await a.gateway.delivery.deliver([friend.id], { type: 'test.marker', data: {} });
    await f.next('test.marker');
    expect(f.frames.filter((x) => x.type === 'presence')).toEqual([]);
  });

  it('hides an invisible user: no presence events, offline to everyone', async () => {
    const [u, friend] = [user(), user()];
    choices.set(u.id, 'invisible');
    audience = async (id) => (id === u.id ? [friend.id] : []);
    const f = await open(b, friend.token);
    const c = await open(a, u.token);
    await c.close();
    await a.gateway.delivery.deliver([friend.id], { type: 'test.marker', data: {} });
    await f.next('test.marker');
    expect(f.frames.filter((x) => x.type === 'presence')).toEqual([]);
  });

  it('closes the connections of a revoked token with 4001 on both instances, keeping another token', async () => {
    const u = user();
    const other = tokens.issue(u.id);
    const [onA, onB, kept] = [await open(a, u.token), await open(b, u.token), await open(b, other.token)];
    tokens.revoke(u.claims.jti);
    await a.gateway.revocations.tokenRevoked(u.id, u.claims.jti);
    expect(await onA.closed).toEqual({ code: 4001, reason: 'token revoked' });
    expect(await onB.closed).toEqual({ code: 4001, reason: 'token revoked' });
    await a.gateway.delivery.deliver([u.id], { type: 'test.after', data: {} });
    await kept.next('test.after');
    expect(await upgradeStatus(a.url, `/ws?token=${u.token}`)).toBe(401);
  });

  it('closes every connection of a deactivated account with 4003 on both instances', async () => {
    const [u, bystander] = [user(), user()];
    const [onA, onB, by] = [await open(a, u.token), await open(b, u.token), await open(b, bystander.token)];
    await a.gateway.cutOff.accountDeactivated(u.id);
    expect(await onA.closed).toEqual({ code: 4003, reason: 'account disabled' });
    expect(await onB.closed).toEqual({ code: 4003, reason: 'account disabled' });
    await eventually(() => a.gateway.connectionCount(u.id) + b.gateway.connectionCount(u.id) === 0);
    await a.gateway.delivery.deliver([bystander.id], { type: 'test.after', data: {} });
    await by.next('test.after');
  });

  it('sends resync after its lease lapsed (the process stalled), and routes the next push', async () => {
    const [u, v] = [user(), user()];
    const [onA, onB] = [await open(a, u.token), await open(b, v.token)];
    // A stall longer than the lease: the renewals find it lapsed and write the entries again.
    const until = Date.now() + TTL_SECONDS * 1000 + 500;
    while (Date.now() < until);
    expect(await onA.next('resync')).toEqual({ type: 'resync', data: {} });
    expect(await onB.next('resync')).toEqual({ type: 'resync', data: {} });
    await eventually(async () => (await a.gateway.presence.onlineUserIds([u.id, v.id])).size === 2);
    await a.gateway.delivery.deliver([v.id], { type: 'test.after', data: {} });
    await onB.next('test.after');
  });
});

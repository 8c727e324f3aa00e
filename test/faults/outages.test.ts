import { Writable } from 'node:stream';
import request from 'supertest';
import { befriend, registerUser, testConfig } from '../helpers/app';
import { PrivateMariadb, PrivateRedis, privateServersAvailable } from '../helpers/private-servers';
import { eventually, TestClient } from '../helpers/ws-client';
import type { DeepPartial, Config } from '../../src/config';
import { createLogger } from '../../src/shared/logger';
import { startInstance, type Instance } from '../../src/server';
import { privateConversationId } from '../helpers/ids';

/** JSON log lines written by an instance, kept for the checks. */
class LogLines extends Writable {
  readonly lines: Array<Record<string, unknown>> = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    for (const line of chunk.toString().split('\n')) if (line) this.lines.push(JSON.parse(line));
    done();
  }
  at(level: string, msg?: string): Array<Record<string, unknown>> {
    return this.lines.filter((l) => l.level === level && (msg === undefined || l.msg === msg));
  }
}

interface Running {
  instance: Instance;
  http: ReturnType<typeof request>;
  logs: LogLines;
}

async function boot(overrides: DeepPartial<Config>): Promise<Running> {
  const logs = new LogLines();
  const config = testConfig({ log: { level: 'info' }, ...overrides });
  const instance = await startInstance(config, createLogger({ level: 'info' }, logs));
  return { instance, http: request(instance.url), logs };
}

const describeWithServers = privateServersAvailable() ? describe : describe.skip;
if (!privateServersAvailable()) {
  console.warn('test/faults skipped: redis-server and mariadbd are needed to inject faults');
}

describeWithServers('Redis and MySQL outages', () => {
  let redis: PrivateRedis;
  let db: PrivateMariadb;
  let app: Running;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let n = 0;

  beforeAll(async () => {
    [redis, db] = await Promise.all([PrivateRedis.start({ persistent: true }), PrivateMariadb.start()]);
    app = await boot({
      mysql: { url: db.url('jim_outages') },
      redis: { url: redis.url, commandTimeoutMs: 500 },
    });
    alice = await registerUser(app);
    bob = await registerUser(app);
    await befriend(app, alice, bob);
  }, 90_000);

  afterAll(async () => {
    await app?.instance.stop();
    await Promise.all([redis?.destroy(), db?.destroy()]);
  });

  const send = (user: { token: string }, to: string, text: string) =>
    app.http
      .post('/api/v1/messages')
      .set('Authorization', `Bearer ${user.token}`)
      .send({ conversationId: to, type: 'text', content: { text }, clientMsgId: `c${++n}` });

  it('answers 503 UNAVAILABLE with Retry-After while Redis is down, warns at a bounded rate, and recovers by itself', async () => {
    const before = app.logs.lines.length;
    await redis.kill();
    try {
      for (let i = 0; i < 6; i++) {
        const res = await app.http.get('/api/v1/users/me').set('Authorization', `Bearer ${alice.token}`);
        expect(res.status).toBe(503);
        expect(res.body.error.code).toBe('UNAVAILABLE');
        expect(res.headers['retry-after']).toMatch(/^\d+$/);
        expect(res.text).not.toMatch(/ECONNREFUSED|ioredis|stack/i);
      }
      // Bad input still gets its 4xx: validation runs before anything reaches Redis.
      const bad = await app.http.post('/api/v1/auth/register').send({ username: 1 });
      expect(bad.status).toBe(400);
    } finally {
      await redis.start();
    }
    await eventually(async () => {
      const res = await app.http.get('/api/v1/users/me').set('Authorization', `Bearer ${alice.token}`);
      return res.status === 200;
    });
    const lines = app.logs.lines.slice(before);
    expect(lines.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
    const outageWarnings = lines.filter((l) => l.msg === 'dependency unavailable; answering 503');
    expect(outageWarnings.length).toBeGreaterThanOrEqual(1);
    expect(outageWarnings.length).toBeLessThan(5);
    expect(outageWarnings.every((l) => l.err === undefined)).toBe(true);
    expect(lines.some((l) => l.msg === 'redis connection lost; reconnecting')).toBe(true);
    expect(lines.some((l) => l.msg === 'redis connection restored')).toBe(true);
    expect(app.instance.redis.command.listenerCount('error')).toBeGreaterThan(0);
    expect(app.instance.redis.subscriber.listenerCount('error')).toBeGreaterThan(0);
  });

  it('answers a WebSocket send with an error frame UNAVAILABLE while Redis is down', async () => {
    const ws = await TestClient.connect(app.instance.url, alice.token);
    await ws.next('ready');
    await redis.kill();
    try {
      ws.send({
        type: 'send',
        id: 'f1',
        data: {
          conversationId: privateConversationId(alice.id, bob.id),
          type: 'text',
          content: { text: 'x' },
          clientMsgId: `w${++n}`,
        },
      });
      const err = await ws.next('error');
      expect(err.data).toMatchObject({ id: 'f1', code: 'UNAVAILABLE' });
    } finally {
      await redis.start();
      await ws.close();
    }
  });

  it('answers 503 while MySQL is down and serves again once it is back', async () => {
    // A warm token check needs only Redis; the profile read needs MySQL.
    await db.stop();
    try {
      const res = await app.http.get(`/api/v1/users/${bob.id}`).set('Authorization', `Bearer ${alice.token}`);
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('UNAVAILABLE');
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
      const sent = await send(alice, privateConversationId(alice.id, bob.id), 'while down');
      expect(sent.status).toBe(503);
    } finally {
      await db.start();
    }
    await eventually(async () => {
      const res = await app.http.get(`/api/v1/users/${bob.id}`).set('Authorization', `Bearer ${alice.token}`);
      return res.status === 200;
    });
    expect((await send(alice, privateConversationId(alice.id, bob.id), 'after')).status).toBe(201);
  });

  it('applies a cache invalidation that failed after the commit once Redis is back, so an ended friendship cannot be used', async () => {
    const carol = await registerUser(app);
    const dave = await registerUser(app);
    await befriend(app, carol, dave);
    const cid = privateConversationId(carol.id, dave.id);
    // The pair's relation is now cached (and, with an append-only file, survives the Redis restart).
    expect((await send(carol, cid, 'hi')).status).toBe(201);
    // With Redis down the deletion still commits; its invalidation fails and must be retried.
    const { command } = app.instance.redis;
    await redis.kill();
    await app.instance.services.friends.deleteFriend(dave.id, carol.id, false);
    await redis.start();
    await eventually(async () => {
      const res = await send(carol, cid, 'still friends?');
      return res.status === 403 && res.body.error.code === 'NOT_FRIENDS';
    }, 10_000);
    expect(await command.ping()).toBe('PONG');
  });
});

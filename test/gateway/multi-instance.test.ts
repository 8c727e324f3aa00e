import request from 'supertest';
import type { Config } from '../../src/config';
import { testConfig } from '../helpers/app';
import { cleanupIsolation, spawnInstance, type ServerProcess } from '../helpers/processes';
import { eventually, TestClient } from './ws-client';

/** Registers a user through one instance's API. */
async function register(url: string, n: number): Promise<{ id: string; token: string; username: string }> {
  const username = `mi${process.pid % 1000}_${Date.now() % 100000}_${n}`;
  const res = await request(url).post('/api/v1/auth/register').send({ username, password: 'Passw0rd!' });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id, token: res.body.token, username };
}

/** Signs in through one instance's API: another session of the user, with a token of its own. */
async function login(url: string, username: string): Promise<string> {
  const res = await request(url).post('/api/v1/auth/login').send({ username, password: 'Passw0rd!' });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token as string;
}

describe('WebSocket gateway across server processes', () => {
  let config: Config;
  let a: ServerProcess;
  let b: ServerProcess;
  let viewer: { id: string; token: string };
  let seq = 0;
  const clients: TestClient[] = [];
  const open = async (url: string, token: string) => {
    const c = await TestClient.connect(url, token);
    clients.push(c);
    await c.next('ready');
    return c;
  };
  const onlineVia = async (url: string, userId: string): Promise<boolean> => {
    const res = await request(url)
      .get(`/api/v1/users/${userId}`)
      .set('Authorization', `Bearer ${viewer.token}`);
    if (res.status !== 200)
      throw new Error(`GET /api/v1/users/${userId}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.online as boolean;
  };

  beforeAll(async () => {
    config = testConfig({ presence: { ttlSeconds: 2 }, rateLimit: { registerPerMinute: 10_000 } });
    [a, b] = await Promise.all([spawnInstance(config), spawnInstance(config)]);
    viewer = await register(a.url, ++seq);
  }, 60_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await cleanupIsolation(config);
  });

  it('runs two instances with distinct ids', () => {
    expect(a.instanceId).not.toBe(b.instanceId);
    expect(a.url).not.toBe(b.url);
  });

  it('delivers an event sent on one instance to clients on the other, once per device', async () => {
    const u = await register(a.url, ++seq);
    const onB = await open(b.url, u.token);
    const onA = await open(a.url, u.token);
    await a.deliver([u.id], { type: 'test.event', data: { n: 1 } });
    expect(await onB.next('test.event')).toEqual({ type: 'test.event', data: { n: 1 } });
    expect(await onA.next('test.event')).toEqual({ type: 'test.event', data: { n: 1 } });
    await b.deliver([u.id], { type: 'test.event', data: { n: 2 } });
    expect((await onA.next('test.event')).data.n).toBe(2);
    expect((await onB.next('test.event')).data.n).toBe(2);
    expect(onA.frames.concat(onB.frames)).toEqual([]);
  });

  it('shares presence: a user connected to one instance is online through the other', async () => {
    const u = await register(a.url, ++seq);
    expect(await onlineVia(a.url, u.id)).toBe(false);
    const c = await open(b.url, u.token);
    expect(await onlineVia(a.url, u.id)).toBe(true);
    await c.close();
    await eventually(async () => (await onlineVia(a.url, u.id)) === false);
  });

  it('sends presence events across instances', async () => {
    const u = await register(a.url, ++seq);
    const friend = await register(a.url, ++seq);
    await Promise.all([a.setAudience([friend.id]), b.setAudience([friend.id])]);
    const f = await open(a.url, friend.token);
    const c = await open(b.url, u.token);
    expect((await f.next('presence')).data).toEqual({ userId: u.id, online: true, presence: 'online' });
    await c.close();
    expect((await f.next('presence')).data).toEqual({ userId: u.id, online: false, presence: 'offline' });
    await Promise.all([a.setAudience([]), b.setAudience([])]);
  });

  it("takes a SIGKILLed instance's users offline within the presence TTL", async () => {
    const doomed = await spawnInstance(config);
    const u = await register(a.url, ++seq);
    const friend = await register(a.url, ++seq);
    // Whichever survivor sweeps the dead instance announces it, so every instance gets the audience.
    await Promise.all([a, b, doomed].map((p) => p.setAudience([friend.id])));
    const f = await open(a.url, friend.token);
    const c = await TestClient.connect(doomed.url, u.token);
    await c.next('ready');
    expect((await f.next('presence')).data).toMatchObject({ userId: u.id, online: true });
    expect(await onlineVia(a.url, u.id)).toBe(true);
    const ttlMs = config.presence.ttlSeconds * 1000;
    const killedAt = Date.now();
    await doomed.kill();
    expect((await c.closed).code).toBe(1006);
    // Reads check the dead instance's lease, so the user is offline once it lapses: within the TTL of its
    // last renewal (the slack is for polling and a loaded machine).
    await eventually(async () => (await onlineVia(a.url, u.id)) === false, ttlMs + 3000);
    expect(Date.now() - killedAt).toBeLessThanOrEqual(ttlMs + 3000);
    // The surviving instance sweeps the dead one's entries at its next renewal (every TTL / 3) and tells
    // the audience.
    expect((await f.next('presence')).data).toEqual({ userId: u.id, online: false, presence: 'offline' });
    expect(Date.now() - killedAt).toBeLessThanOrEqual(ttlMs + ttlMs / 3 + 3000);
    await Promise.all([a.setAudience([]), b.setAudience([])]);
  });

  it('closes the connections of a token logged out through one instance on the other, leaving other tokens open', async () => {
    const u = await register(a.url, ++seq);
    const otherToken = await login(a.url, u.username);
    const onB = await open(b.url, u.token);
    const onA = await open(a.url, u.token);
    const otherOnB = await open(b.url, otherToken);
    const res = await request(a.url).post('/api/v1/auth/logout').set('Authorization', `Bearer ${u.token}`);
    expect(res.status).toBe(204);
    expect(await onB.closed).toEqual({ code: 4001, reason: 'token revoked' });
    expect(await onA.closed).toEqual({ code: 4001, reason: 'token revoked' });
    await a.deliver([u.id], { type: 'test.after', data: {} });
    expect(await otherOnB.next('test.after')).toEqual({ type: 'test.after', data: {} });
    expect(onA.frames.concat(onB.frames)).toEqual([]);
  });

  it('closes the other sessions on every instance on a password change through one, keeping the current one', async () => {
    const u = await register(a.url, ++seq);
    const oldToken = await login(a.url, u.username);
    const kept = await open(b.url, u.token);
    const oldOnA = await open(a.url, oldToken);
    const oldOnB = await open(b.url, oldToken);
    const res = await request(a.url)
      .put('/api/v1/users/me/password')
      .set('Authorization', `Bearer ${u.token}`)
      .send({ oldPassword: 'Passw0rd!', newPassword: 'N3w-Secret!' });
    expect(res.status).toBe(204);
    expect(await oldOnA.closed).toEqual({ code: 4001, reason: 'token revoked' });
    expect(await oldOnB.closed).toEqual({ code: 4001, reason: 'token revoked' });
    await a.deliver([u.id], { type: 'test.after', data: {} });
    expect(await kept.next('test.after')).toEqual({ type: 'test.after', data: {} });
    kept.send({ type: 'ping' });
    expect((await kept.next('pong')).data).toEqual({});
  });

  it('closes connections with 1001 on graceful stop and clears their presence at once', async () => {
    const leaving = await spawnInstance(config);
    const u = await register(a.url, ++seq);
    const c = await TestClient.connect(leaving.url, u.token);
    await c.next('ready');
    expect(await onlineVia(a.url, u.id)).toBe(true);
    await leaving.stop();
    expect((await c.closed).code).toBe(1001);
    expect(await onlineVia(a.url, u.id)).toBe(false);
  });
});

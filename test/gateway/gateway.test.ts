import { Writable } from 'node:stream';
import jwt from 'jsonwebtoken';
import { ForbiddenError } from '../../src/shared/errors';
import { createLogger } from '../../src/shared/logger';
import { befriend, jwtSecretOf, login, registerUser, startTestApp, type TestApp } from '../helpers/app';
import { eventually, refusedUpgrade, TestClient, upgradeStatus } from '../helpers/ws-client';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

/** Signs in again: a second session (device) of the same user, with a token of its own. */
async function counter(c: { get(): Promise<{ values: Array<{ value: number }> }> }): Promise<number> {
  return (await c.get()).values.reduce((sum, v) => sum + v.value, 0);
}

needsServers('WebSocket gateway /ws', () => {
  let app: TestApp;
  const clients: TestClient[] = [];
  const open = async (token: string, options?: Parameters<typeof TestClient.connect>[2]) => {
    const c = await TestClient.connect(app.instance.url, token, options);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    app = await startTestApp({
      ws: { maxConnectionsPerUser: 3, framesPerSecond: 20, maxFrameBytes: 4096, maxBufferedBytes: 64 * 1024 },
      rateLimit: { registerPerMinute: 10_000 },
    });
    app.instance.gateway.frames.onFrame('test.forbidden', async () => {
      throw new ForbiddenError('Not yours', 'NOT_A_MEMBER');
    });
    app.instance.gateway.frames.onFrame('test.crash', async () => {
      throw new Error('boom');
    });
    app.instance.gateway.frames.onFrame('test.echo', async (ctx, frame) => {
      ctx.reply({ type: 'ack', data: { id: frame.id ?? null, message: { echo: frame.data ?? null } } });
    });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await app.close();
  });

  describe('upgrade', () => {
    it('refuses a missing token with 401', async () => {
      expect(await upgradeStatus(app.instance.url, '/ws')).toBe(401);
    });

    it('refuses a malformed or forged token with 401', async () => {
      expect(await upgradeStatus(app.instance.url, '/ws?token=not-a-jwt')).toBe(401);
      expect(await upgradeStatus(app.instance.url, '/ws', { Authorization: 'Bearer abc.def.ghi' })).toBe(401);
    });

    it('refuses an expired token with 401', async () => {
      const u = await registerUser(app);
      const expired = jwt.sign(
        {
          sub: u.id,
          jti: 'expired-jti',
          iatMs: Date.now() - 120_000,
          exp: Math.floor(Date.now() / 1000) - 60,
        },
        await jwtSecretOf(app.instance),
        { algorithm: 'HS256' },
      );
      expect(await upgradeStatus(app.instance.url, `/ws?token=${expired}`)).toBe(401);
    });

    it('refuses a token revoked by logout with 401', async () => {
      const u = await registerUser(app);
      const c = await open(u.token);
      await c.next('ready');
      const out = await app.http
        .post('/api/v1/auth/logout')
        .set('Authorization', `Bearer ${u.token}`)
        .send({});
      expect(out.status).toBe(204);
      expect(await upgradeStatus(app.instance.url, `/ws?token=${u.token}`)).toBe(401);
    });

    it('answers 404 for another path', async () => {
      const u = await registerUser(app);
      expect(await upgradeStatus(app.instance.url, `/other?token=${u.token}`)).toBe(404);
    });

    it('sends ready first, with the user id and a connection id (query or header token)', async () => {
      const u = await registerUser(app);
      const a = await open(u.token);
      const b = await open(u.token, { via: 'header' });
      const ra = await a.next();
      const rb = await b.next();
      expect(ra).toEqual({ type: 'ready', data: { userId: u.id, connectionId: expect.any(String) } });
      expect(rb.type).toBe('ready');
      expect(rb.data.userId).toBe(u.id);
      expect(rb.data.connectionId).not.toBe(ra.data.connectionId);
      expect(app.instance.gateway.connectionCount(u.id)).toBe(2);
    });

    it('answers a refused upgrade with the error envelope and its X-Request-Id, echoing a sane client id', async () => {
      const echoed = await refusedUpgrade(app.instance.url, '/ws?token=not-a-jwt', {
        'X-Request-Id': 'client-req-42',
      });
      expect(echoed.status).toBe(401);
      expect(echoed.headers['x-request-id']).toBe('client-req-42');
      expect(echoed.body).toEqual({
        error: { code: 'UNAUTHENTICATED', message: expect.any(String), requestId: 'client-req-42' },
      });
      const fresh = await refusedUpgrade(app.instance.url, '/ws', { 'X-Request-Id': 'bad id\twith tab' });
      expect(fresh.status).toBe(401);
      const id = fresh.headers['x-request-id'];
      expect(id).toMatch(/^[A-Za-z0-9_-]{8,}$/);
      expect((fresh.body as { error: { requestId: unknown } }).error.requestId).toBe(id);
    });

    it('refuses connections beyond ws.maxConnectionsPerUser with 429', async () => {
      const u = await registerUser(app);
      for (let i = 0; i < 3; i++) await (await open(u.token)).next('ready');
      expect(await upgradeStatus(app.instance.url, `/ws?token=${u.token}`)).toBe(429);
      await clients.pop()!.close();
      await eventually(() => app.instance.gateway.connectionCount(u.id) === 2);
      await (await open(u.token)).next('ready');
    });
  });

  describe('delivery', () => {
    it('delivers an event to every device of each user, once', async () => {
      const u = await registerUser(app);
      const v = await registerUser(app);
      const [a1, a2, b] = await Promise.all([open(u.token), open(u.token), open(v.token)]);
      await Promise.all([a1.next('ready'), a2.next('ready'), b.next('ready')]);
      await app.instance.gateway.delivery.deliver([u.id, v.id, u.id], { type: 'test.event', data: { n: 1 } });
      for (const c of [a1, a2, b])
        expect(await c.next('test.event')).toEqual({ type: 'test.event', data: { n: 1 } });
      await app.instance.gateway.delivery.deliver([u.id], { type: 'test.event', data: { n: 2 } });
      expect((await a1.next('test.event')).data.n).toBe(2);
      expect((await a2.next('test.event')).data.n).toBe(2);
    });

    it('closes a client whose send buffer passes ws.maxBufferedBytes with 1013 while a fast one keeps receiving', async () => {
      const slowUser = await registerUser(app);
      const fastUser = await registerUser(app);
      const slow = await open(slowUser.token);
      const fast = await open(fastUser.token);
      await Promise.all([slow.next('ready'), fast.next('ready')]);
      (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
      const slowClosed = app.instance.metrics.wsSlowClosed;
      const before = await counter(slowClosed);
      const blob = 'x'.repeat(128 * 1024);
      let sent = 0;
      while ((await counter(slowClosed)) === before && sent < 1000) {
        await app.instance.gateway.deliver([slowUser.id, fastUser.id], {
          type: 'test.bulk',
          data: { n: sent, blob },
        });
        expect((await fast.next('test.bulk')).data.n).toBe(sent);
        fast.frames.length = 0;
        sent++;
      }
      expect(await counter(slowClosed)).toBe(before + 1);
      await app.instance.gateway.deliver([fastUser.id], { type: 'test.after', data: {} });
      await fast.next('test.after');
      (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      expect((await slow.closed).code).toBe(1013);
    });
  });

  describe('client frames', () => {
    it('answers ping with pong', async () => {
      const u = await registerUser(app);
      const c = await open(u.token);
      await c.next('ready');
      c.send({ type: 'ping', id: 'p1' });
      expect(await c.next()).toEqual({ type: 'pong', data: {} });
    });

    it('answers malformed JSON, non-objects and bad ids with VALIDATION_FAILED and keeps the connection', async () => {
      const u = await registerUser(app);
      const c = await open(u.token);
      await c.next('ready');
      c.send('{not json');
      expect(await c.next()).toEqual({
        type: 'error',
        data: { id: null, code: 'VALIDATION_FAILED', message: expect.any(String) },
      });
      c.send('[1,2]');
      expect((await c.next('error')).data.code).toBe('VALIDATION_FAILED');
      c.send({ type: 'ping', id: 'x'.repeat(65) });
      expect((await c.next('error')).data).toMatchObject({ id: null, code: 'VALIDATION_FAILED' });
      c.send({ type: 'ping', id: 'a', extra: 1 });
      expect((await c.next('error')).data).toMatchObject({ id: 'a', code: 'VALIDATION_FAILED' });
      c.send({ id: 'b' });
      expect((await c.next('error')).data).toMatchObject({ id: 'b', code: 'VALIDATION_FAILED' });
      c.send({ type: 'ping' });
      expect(await c.next()).toEqual({ type: 'pong', data: {} });
    });

    it('answers an unknown type with UNKNOWN_FRAME carrying the frame id', async () => {
      const u = await registerUser(app);
      const c = await open(u.token);
      await c.next('ready');
      c.send({ type: 'no.such', id: 'f-1', data: {} });
      expect((await c.next('error')).data).toMatchObject({ id: 'f-1', code: 'UNKNOWN_FRAME' });
    });

    it('dispatches to registered handlers; their errors become error frames with the frame id', async () => {
      const u = await registerUser(app);
      const c = await open(u.token);
      await c.next('ready');
      c.send({ type: 'test.echo', id: 'e1', data: { x: 1 } });
      expect(await c.next()).toEqual({ type: 'ack', data: { id: 'e1', message: { echo: { x: 1 } } } });
      c.send({ type: 'test.forbidden', id: 'e2' });
      expect((await c.next()).data).toEqual({ id: 'e2', code: 'NOT_A_MEMBER', message: 'Not yours' });
      c.send({ type: 'test.crash', id: 'e3' });
      expect((await c.next()).data).toEqual({ id: 'e3', code: 'INTERNAL', message: 'Internal server error' });
    });

    it('closes a connection sending an oversized frame with 1009 while the server keeps serving others', async () => {
      const u = await registerUser(app);
      const big = await open(u.token);
      const other = await open(u.token);
      await Promise.all([big.next('ready'), other.next('ready')]);
      big.send({ type: 'ping', data: 'x'.repeat(10_000) });
      expect((await big.closed).code).toBe(1009);
      other.send({ type: 'ping' });
      expect((await other.next()).type).toBe('pong');
      expect((await app.http.get('/healthz')).status).toBe(200);
    });

    it('limits frames per second with RATE_LIMITED errors, then closes sustained abuse with 1008', async () => {
      const u = await registerUser(app);
      const c = await open(u.token);
      await c.next('ready');
      for (let i = 0; i < 60; i++) c.send({ type: 'ping' });
      expect((await c.next('error')).data.code).toBe('RATE_LIMITED');
      for (let i = 0; i < 200; i++) c.send({ type: 'ping' });
      expect((await c.closed).code).toBe(1008);
      expect((await app.http.get('/healthz')).status).toBe(200);
    });
  });

  describe('token revocation', () => {
    it('closes every connection of a logged-out token with 4001 "token revoked", not another device with another token', async () => {
      const u = await registerUser(app);
      const otherToken = await login(app, u.username);
      const [a1, a2, other] = await Promise.all([
        open(u.token),
        open(u.token, { via: 'header' }),
        open(otherToken),
      ]);
      await Promise.all([a1.next('ready'), a2.next('ready'), other.next('ready')]);
      const out = await app.http
        .post('/api/v1/auth/logout')
        .set('Authorization', `Bearer ${u.token}`)
        .send({});
      expect(out.status).toBe(204);
      expect(await a1.closed).toEqual({ code: 4001, reason: 'token revoked' });
      expect(await a2.closed).toEqual({ code: 4001, reason: 'token revoked' });
      await eventually(() => app.instance.gateway.connectionCount(u.id) === 1);
      await app.instance.gateway.delivery.deliver([u.id], { type: 'test.after', data: {} });
      expect(await other.next('test.after')).toEqual({ type: 'test.after', data: {} });
      other.send({ type: 'ping' });
      expect((await other.next('pong')).data).toEqual({});
      expect(a1.frames.concat(a2.frames)).toEqual([]);
    });

    it("closes the user's other connections on a password change and keeps the one of the kept token", async () => {
      const u = await registerUser(app);
      const [t2, t3] = [await login(app, u.username), await login(app, u.username)];
      const [kept, c2, c3] = await Promise.all([open(u.token), open(t2), open(t3)]);
      const bystander = await registerUser(app);
      const b = await open(bystander.token);
      await Promise.all([kept.next('ready'), c2.next('ready'), c3.next('ready'), b.next('ready')]);
      const res = await app.http
        .put('/api/v1/users/me/password')
        .set('Authorization', `Bearer ${u.token}`)
        .send({ oldPassword: u.password, newPassword: 'N3w-Secret!' });
      expect(res.status).toBe(204);
      expect(await c2.closed).toEqual({ code: 4001, reason: 'token revoked' });
      expect(await c3.closed).toEqual({ code: 4001, reason: 'token revoked' });
      await eventually(() => app.instance.gateway.connectionCount(u.id) === 1);
      await app.instance.gateway.delivery.deliver([u.id, bystander.id], { type: 'test.after', data: {} });
      expect((await kept.next('test.after')).type).toBe('test.after');
      expect((await b.next('test.after')).type).toBe('test.after');
      // A session opened after the change is not covered by it.
      const fresh = await open(await login(app, u.username, 'N3w-Secret!'));
      await fresh.next('ready');
      fresh.send({ type: 'ping' });
      expect((await fresh.next('pong')).data).toEqual({});
      expect(app.instance.gateway.connectionCount(u.id)).toBe(2);
    });

    it('closes a connection whose token was revoked while its upgrade was in flight', async () => {
      const u = await registerUser(app);
      const tokens = app.instance.services.tokens;
      const verify = tokens.verify.bind(tokens);
      // The revocation lands after the upgrade's check and before this instance holds the connection.
      const spy = jest.spyOn(tokens, 'verify').mockImplementationOnce(async (token) => {
        const claims = await verify(token);
        await tokens.revoke(claims);
        return claims;
      });
      try {
        const c = await open(u.token);
        expect(await c.closed).toEqual({ code: 4001, reason: 'token revoked' });
      } finally {
        spy.mockRestore();
      }
      await eventually(() => app.instance.gateway.connectionCount(u.id) === 0);
    });
  });

  describe('presence', () => {
    it('shows online in GET /api/v1/users/{id} while any device is connected', async () => {
      const u = await registerUser(app);
      const viewer = await registerUser(app);
      const get = async () =>
        (await app.http.get(`/api/v1/users/${u.id}`).set('Authorization', `Bearer ${viewer.token}`)).body;
      expect(await get()).toMatchObject({ online: false, presence: 'offline' });
      const a = await open(u.token);
      const b = await open(u.token);
      await Promise.all([a.next('ready'), b.next('ready')]);
      expect(await get()).toMatchObject({ online: true, presence: 'online' });
      await a.close();
      await eventually(() => app.instance.gateway.connectionCount(u.id) === 1);
      expect(await get()).toMatchObject({ online: true });
      await b.close();
      await eventually(async () => (await get()).online === false);
    });

    it('sends presence events to friends on change; invisible users look offline', async () => {
      const u = await registerUser(app);
      const friend = await registerUser(app);
      await befriend(app, u, friend);
      const f = await open(friend.token);
      await f.next('ready');
      const a = await open(u.token);
      await a.next('ready');
      expect((await f.next('presence')).data).toEqual({ userId: u.id, online: true, presence: 'online' });
      const second = await open(u.token);
      await second.next('ready');

      const patch = (presence: string) =>
        app.http.patch('/api/v1/users/me').set('Authorization', `Bearer ${u.token}`).send({ presence });
      expect((await patch('busy')).status).toBe(200);
      expect((await f.next('presence')).data).toEqual({ userId: u.id, online: true, presence: 'busy' });
      expect((await patch('invisible')).status).toBe(200);
      expect((await f.next('presence')).data).toEqual({ userId: u.id, online: false, presence: 'offline' });
      const seen = await app.http.get(`/api/v1/users/${u.id}`).set('Authorization', `Bearer ${friend.token}`);
      expect(seen.body).toMatchObject({ online: false, presence: 'offline' });
      expect((await patch('online')).status).toBe(200);
      expect((await f.next('presence')).data).toEqual({ userId: u.id, online: true, presence: 'online' });

      await second.close();
      await a.close();
      expect((await f.next('presence')).data).toEqual({ userId: u.id, online: false, presence: 'offline' });
      // Only the last device going away changes presence: exactly one offline event was sent.
      await app.instance.gateway.delivery.deliver([friend.id], { type: 'test.marker', data: {} });
      await f.next('test.marker');
      expect(f.frames.filter((x) => x.type === 'presence')).toEqual([]);
    });
  });
});

needsServers('WebSocket gateway: heartbeat', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      ws: { pingIntervalSeconds: 2 },
      rateLimit: { registerPerMinute: 10_000 },
    });
  });
  afterAll(async () => {
    await app.close();
  });

  it('drops a client that stops answering pings and keeps one that answers', async () => {
    const u = await registerUser(app);
    const mute = await TestClient.connect(app.instance.url, u.token, { autoPong: false });
    const live = await TestClient.connect(app.instance.url, u.token);
    await Promise.all([mute.next('ready'), live.next('ready')]);
    expect((await mute.closed).code).toBe(1006);
    live.send({ type: 'ping' });
    expect((await live.next('pong')).data).toEqual({});
    expect(app.instance.gateway.connectionCount(u.id)).toBe(1);
    await live.close();
  });
});

needsServers('WebSocket gateway: revocation routing between instances', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp({ rateLimit: { registerPerMinute: 10_000 } });
    b = await startTestApp({}, { shareWith: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('publishes a revocation only to the instances holding connections of the user', async () => {
    const routed = async (app: TestApp, direction: string) =>
      (await app.instance.metrics.gatewayRouted.get()).values
        .filter((v) => v.labels.direction === direction)
        .reduce((sum, v) => sum + v.value, 0);
    const logout = (token: string) =>
      a.http.post('/api/v1/auth/logout').set('Authorization', `Bearer ${token}`).send({});

    const local = await registerUser(a);
    const onA = await TestClient.connect(a.instance.url, local.token);
    await onA.next('ready');
    const [publishedBefore, receivedBefore] = [await routed(a, 'published'), await routed(b, 'received')];
    expect((await logout(local.token)).status).toBe(204);
    expect(await onA.closed).toEqual({ code: 4001, reason: 'token revoked' });
    expect(await routed(a, 'published')).toBe(publishedBefore);
    expect(await routed(b, 'received')).toBe(receivedBefore);

    const remote = await registerUser(a);
    const onB = await TestClient.connect(b.instance.url, remote.token);
    await onB.next('ready');
    expect((await logout(remote.token)).status).toBe(204);
    expect(await onB.closed).toEqual({ code: 4001, reason: 'token revoked' });
    expect(await routed(a, 'published')).toBe(publishedBefore + 1);
    expect(await routed(b, 'received')).toBe(receivedBefore + 1);
    await eventually(() => b.instance.gateway.connectionCount(remote.id) === 0);
  });
});

needsServers('WebSocket gateway: token expiry', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      auth: { tokenTtlSeconds: 2 },
      ws: { pingIntervalSeconds: 1 },
      rateLimit: { registerPerMinute: 10_000 },
    });
  });
  afterAll(async () => {
    await app.close();
  });

  it('closes a connection with 4001 "token expired" at the first heartbeat after its token expires', async () => {
    const u = await registerUser(app);
    const expiresAt = (jwt.decode(u.token) as jwt.JwtPayload).exp! * 1000;
    const c = await TestClient.connect(app.instance.url, u.token);
    await c.next('ready');
    // Served while the token is valid: a heartbeat before the expiry leaves the connection open.
    c.send({ type: 'ping' });
    await c.next('pong');
    expect(await c.closed).toEqual({ code: 4001, reason: 'token expired' });
    // Never before the expiry (how soon after it depends on the heartbeat and is not asserted).
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    await eventually(() => app.instance.gateway.connectionCount(u.id) === 0);
    expect(await upgradeStatus(app.instance.url, `/ws?token=${u.token}`)).toBe(401);
  });
});

needsServers('WebSocket gateway: connection log lines', () => {
  let app: TestApp;
  const chunks: string[] = [];
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const lineOf = (msg: string, connectionId: unknown) =>
    lines().find((l) => l.msg === msg && l.connectionId === connectionId);

  beforeAll(async () => {
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk.toString());
        cb();
      },
    });
    app = await startTestApp(
      { ws: { framesPerSecond: 2 }, rateLimit: { registerPerMinute: 10_000 } },
      { logger: createLogger({ level: 'info' }, stream) },
    );
  });
  afterAll(async () => {
    await app.close();
  });

  it('writes one line per connect and per close, with the close code, reason, side and duration, never the token', async () => {
    const u = await registerUser(app);
    const instanceId = app.instance.gateway.instanceId;

    const byClient = await TestClient.connect(app.instance.url, u.token);
    const ready = (await byClient.next('ready')).data;
    byClient.ws.close(1000, 'bye');
    await byClient.closed;
    await eventually(() => lineOf('websocket closed', ready.connectionId) !== undefined);
    expect(lineOf('websocket connected', ready.connectionId)).toMatchObject({
      level: 'info',
      component: 'gateway',
      instanceId,
      userId: u.id,
    });
    const closed = lineOf('websocket closed', ready.connectionId)!;
    expect(closed).toMatchObject({
      component: 'gateway',
      instanceId,
      userId: u.id,
      code: 1000,
      reason: 'bye',
      closedBy: 'client',
    });
    expect(typeof closed.durationMs).toBe('number');
    expect(closed.durationMs).toBeGreaterThanOrEqual(0);

    const flooder = await TestClient.connect(app.instance.url, u.token, { via: 'header' });
    const flooderId = (await flooder.next('ready')).data.connectionId;
    for (let i = 0; i < 40; i++) flooder.send({ type: 'ping' });
    expect((await flooder.closed).code).toBe(1008);
    await eventually(() => lineOf('websocket closed', flooderId) !== undefined);
    expect(lineOf('websocket closed', flooderId)).toMatchObject({
      userId: u.id,
      code: 1008,
      reason: 'frame rate limit exceeded',
      closedBy: 'server',
    });

    const revoked = await TestClient.connect(app.instance.url, u.token);
    const revokedId = (await revoked.next('ready')).data.connectionId;
    expect(
      (await app.http.post('/api/v1/auth/logout').set('Authorization', `Bearer ${u.token}`).send({})).status,
    ).toBe(204);
    expect(await revoked.closed).toEqual({ code: 4001, reason: 'token revoked' });
    await eventually(() => lineOf('websocket closed', revokedId) !== undefined);
    expect(lineOf('websocket closed', revokedId)).toMatchObject({
      code: 4001,
      reason: 'token revoked',
      closedBy: 'server',
    });

    expect(await upgradeStatus(app.instance.url, `/ws?token=${u.token}`)).toBe(401);
    await eventually(() => lines().some((l) => l.msg === 'websocket upgrade refused'));
    expect(lines().find((l) => l.msg === 'websocket upgrade refused')).toMatchObject({
      status: 401,
      errorCode: 'UNAUTHENTICATED',
    });
    const signature = u.token.split('.')[2];
    expect(chunks.join('')).not.toContain(signature);
  });
});

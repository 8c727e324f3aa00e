import request from 'supertest';
import { befriend, dropDatabase, registerUser, testConfig } from '../helpers/app';
import { PrivateRedis, privateServersAvailable } from '../helpers/private-servers';
import { TestClient } from '../helpers/ws-client';
import type { Config } from '../../src/config';
import { createLogger } from '../../src/shared/logger';
import { startInstance, type Instance } from '../../src/server';
import { privateConversationId } from '../helpers/ids';
import { describeWith } from '../helpers/servers';

const describeWithServers = privateServersAvailable() ? describeWith('mysql') : describe.skip;

describeWithServers('pushes after a Redis restart', () => {
  let redis: PrivateRedis;
  let config: Config;
  let a: Instance;
  let b: Instance;
  const users: Array<{ id: string; token: string }> = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    // A long lease: the registry would stay empty for up to 20 s if only the renewal restored it.
    config = testConfig({ redis: { url: redis.url, commandTimeoutMs: 500 }, presence: { ttlSeconds: 60 } });
    a = await startInstance(config, createLogger({ level: 'silent' }));
    b = await startInstance(config, createLogger({ level: 'silent' }));
    const api = { http: request(a.url) };
    users.push(await registerUser(api), await registerUser(api));
    await befriend(api, users[0], users[1]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([a?.stop(), b?.stop()]);
    await dropDatabase(config.mysql.url);
    await redis?.destroy();
  });

  it('re-registers the connections, sends them resync, and routes the next push at once', async () => {
    const [alice, bob] = users;
    const onB = await TestClient.connect(b.url, bob.token);
    clients.push(onB);
    await onB.next('ready');
    await redis.kill();
    await redis.start();
    // Redis came back empty: instance B writes its entries again and tells its connections to page.
    expect(await onB.next('resync', 10_000)).toEqual({ type: 'resync', data: {} });
    const conversationId = privateConversationId(alice.id, bob.id);
    let sent: request.Response | null = null;
    for (let i = 0; i < 50; i++) {
      sent = await request(a.url)
        .post('/api/v1/messages')
        .set('Authorization', `Bearer ${alice.token}`)
        .send({ conversationId, type: 'text', content: { text: 'after' }, clientMsgId: 'after-restart' });
      if (sent.status !== 503) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(sent?.status).toBe(201);
    // Well within the 20 s until B's next lease renewal.
    const pushed = await onB.next('message', 5000);
    expect(pushed.data).toMatchObject({ conversationId, clientMsgId: 'after-restart' });
  });
});

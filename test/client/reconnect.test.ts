import type { Config } from '../../src/config';
import { testConfig } from '../helpers/app';
import { cleanupIsolation, spawnInstance, type ServerProcess } from '../helpers/processes';
import { unwrap, type JimClient } from '../../client/src';
import { befriend, expectConsecutive, nextReady, Recorder, sdkClient, until } from './sdk-helpers';
import { freePort } from '../helpers/private-servers';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

// A process start, a crash and a restart: slow on a busy machine.
jest.setTimeout(180_000);

let config: Config;
let server: ServerProcess | null = null;
const clients: JimClient[] = [];

beforeAll(async () => {
  config = testConfig({ server: { port: await freePort() } });
  server = await spawnInstance(config);
});

afterAll(async () => {
  for (const c of clients) c.close();
  if (server) await server.stop();
  await cleanupIsolation(config);
});

needsServers('JimClient across a server crash', () => {
  it('delivers every message exactly once on every client while the server is killed and restarted', async () => {
    const url = server!.url;
    const make = async (name: string) => {
      const client = sdkClient(url, { ackTimeoutMs: 2000 });
      clients.push(client);
      const session = await client.register({
        username: `${name}${Date.now() % 100000}`,
        password: 'Passw0rd!',
      });
      return { client, rec: new Recorder(client), id: String(session.user?.id) };
    };
    const a = await make('crash_a');
    const b = await make('crash_b');
    const cid = await befriend(a.client, a.id, b.client, b.id);
    // B has a second device: every device must see every message once.
    const b2 = { client: sdkClient(url, { token: b.client.getToken() }), rec: null as unknown as Recorder };
    clients.push(b2.client);
    b2.rec = new Recorder(b2.client);
    for (const c of [a.client, b.client, b2.client]) {
      const ready = nextReady(c);
      c.connect();
      await ready;
    }

    const total = 20;
    const sendRound = (i: number) => {
      a.client.send(cid, 'text', { text: `a${i}` });
      b.client.send(cid, 'text', { text: `b${i}` });
    };
    for (let i = 0; i < 5; i++) sendRound(i);
    await until('the first messages to arrive', () => b.rec.in(cid).length >= 4);

    // Crash while messages are in flight, keep sending while it is down, then bring it back on the same port.
    for (let i = 5; i < 8; i++) sendRound(i);
    await server!.kill();
    server = null;
    for (let i = 8; i < 14; i++) sendRound(i);
    await until('every client to notice', () => [a, b, b2].every((x) => x.client.state !== 'open'));
    server = await spawnInstance(config);
    for (let i = 14; i < total; i++) sendRound(i);

    const everything = 2 * total;
    for (const [name, x] of [
      ['A', a],
      ['B', b],
      ['B2', b2],
    ] as const) {
      await until(
        `${name} to hold all ${everything} messages`,
        () => x.rec.in(cid).length >= everything,
        60_000,
      );
    }
    await until(
      'both send queues to drain',
      () => !a.client.pendingMessages().length && !b.client.pendingMessages().length,
    );
    await new Promise((r) => setTimeout(r, 300));

    const history = await unwrap(
      a.client.api.GET('/api/v1/conversations/{cid}/messages', {
        params: { path: { cid }, query: { limit: 100 } },
      }),
    );
    const stored = (history.items ?? []).map((m) => (m.content as { text: string }).text);
    const expected = [...Array(total).keys()].flatMap((i) => [`a${i}`, `b${i}`]).sort();
    expect([...stored].sort()).toEqual(expected);
    for (const x of [a, b, b2]) {
      expect(x.rec.texts(cid)).toEqual(stored);
      expectConsecutive(x.rec.in(cid));
    }
    // Each side's own messages kept their queue order.
    expect(stored.filter((t) => t.startsWith('a'))).toEqual([...Array(total).keys()].map((i) => `a${i}`));
    expect(stored.filter((t) => t.startsWith('b'))).toEqual([...Array(total).keys()].map((i) => `b${i}`));
  });
});

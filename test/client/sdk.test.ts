import { startTestApp, type TestApp } from '../helpers/app';
import { unwrap, type JimClient } from '../../client/src';
import { befriend, expectConsecutive, nextReady, Recorder, sdkClient, until } from './sdk-helpers';
import { privateConversationId } from '../helpers/ids';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

let app: TestApp;
const open: JimClient[] = [];

beforeAll(async () => {
  app = await startTestApp();
});

afterAll(async () => {
  for (const c of open) c.close();
  await app.close();
});

let n = 0;
/** Registers a user through the SDK and connects it. */
async function user(): Promise<{ client: JimClient; rec: Recorder; id: string }> {
  const client = sdkClient(app.instance.url);
  open.push(client);
  const session = await client.register({
    username: `sdk${Date.now() % 100000}_${++n}`,
    password: 'Passw0rd!',
  });
  const rec = new Recorder(client);
  const ready = nextReady(client);
  client.connect();
  await ready;
  return { client, rec, id: String(session.user?.id) };
}

async function pair() {
  const a = await user();
  const b = await user();
  const cid = await befriend(a.client, a.id, b.client, b.id);
  return { a, b, cid };
}

function text(i: number | string) {
  return { text: `m${i}` };
}

needsServers('JimClient against a real server', () => {
  it('hands every message on once and in seq order, own sends included (from their acks)', async () => {
    const { a, b, cid } = await pair();
    const sent = [1, 2, 3, 4, 5].map((i) => a.client.send(cid, 'text', text(i)));
    await until('B to get five messages', () => b.rec.in(cid).length === 5);
    await until('A to see its five messages', () => a.rec.in(cid).length === 5);
    expect(b.rec.texts(cid)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(a.rec.texts(cid)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expectConsecutive(b.rec.in(cid));
    expect(sent.map((s) => a.rec.outbox.get(s.clientMsgId)?.state)).toEqual(Array(5).fill('sent'));
    expect(a.rec.in(cid).map((m) => m.clientMsgId)).toEqual(sent.map((s) => s.clientMsgId));
    expect(a.client.pendingMessages()).toEqual([]);
  });

  it('catches up by afterSeq after a reconnect, without repeating what it had', async () => {
    const { a, b, cid } = await pair();
    a.client.send(cid, 'text', text('before'));
    await until('B to get the first message', () => b.rec.in(cid).length === 1);
    b.client.close();
    for (const i of [1, 2, 3]) {
      await unwrap(
        a.client.api.POST('/api/v1/messages', {
          body: {
            conversationId: cid,
            type: 'text',
            content: text(i) as never,
            clientMsgId: `rest-${cid}-${i}`,
          },
        }),
      );
    }
    const ready = nextReady(b.client);
    b.client.connect();
    await ready;
    await until('B to catch up three messages', () => b.rec.in(cid).length === 4);
    await new Promise((r) => setTimeout(r, 200));
    expect(b.rec.texts(cid)).toEqual(['mbefore', 'm1', 'm2', 'm3']);
    expectConsecutive(b.rec.in(cid));
  });

  it('pages the conversations it follows on a resync event (pushes it never got)', async () => {
    const { a, b, cid } = await pair();
    a.client.send(cid, 'text', text(0));
    await until('B to get the first message', () => b.rec.in(cid).length === 1);
    // A muted conversation gets no pushes: the messages exist but B is not told.
    await unwrap(b.client.api.PUT('/api/v1/conversations/{cid}/mute', { params: { path: { cid } } }));
    a.client.send(cid, 'text', text(1));
    a.client.send(cid, 'text', text(2));
    await until('A to see both sent', () => a.rec.in(cid).length === 3);
    await new Promise((r) => setTimeout(r, 150));
    expect(b.rec.in(cid)).toHaveLength(1);
    await app.instance.gateway.deliver([b.id], { type: 'resync', data: {} });
    await until('B to page the two messages', () => b.rec.in(cid).length === 3);
    expect(b.rec.texts(cid)).toEqual(['m0', 'm1', 'm2']);
  });

  it('follows a conversation that appears while connected from its first message', async () => {
    const a = await user();
    const b = await user();
    await a.client.conversations();
    await b.client.conversations();
    const request = await unwrap(
      a.client.api.POST('/api/v1/friend-requests', { body: { userId: b.id, message: 'hello there' } }),
    );
    await unwrap(
      b.client.api.POST('/api/v1/friend-requests/{requestId}/accept', {
        params: { path: { requestId: 'id' in request ? String(request.id) : '' } },
        body: {},
      }),
    );
    const cid = privateConversationId(a.id, b.id);
    b.client.send(cid, 'text', text('reply'));
    await until('A to get greeting and reply', () => a.rec.in(cid).length === 2);
    expect(a.rec.texts(cid)).toEqual(['hello there', 'mreply']);
    expectConsecutive(a.rec.in(cid));
  });

  it('fails a message the server refuses for good, after one attempt, and keeps the queue moving', async () => {
    const { a, b, cid } = await pair();
    const refused = a.client.send('g:999999999', 'text', text('nowhere'));
    const ok = a.client.send(cid, 'text', text('fine'));
    await until('the refusal', () => a.rec.outbox.get(refused.clientMsgId)?.state === 'failed');
    await until('the other send', () => a.rec.outbox.get(ok.clientMsgId)?.state === 'sent');
    const failed = a.rec.outbox.get(refused.clientMsgId);
    expect(failed?.error?.code).toMatch(/^(CONVERSATION_NOT_FOUND|NOT_A_MEMBER)$/);
    expect(failed?.attempts).toBe(1);
    await until('B to get the good one', () => b.rec.in(cid).length === 1);
  });

  it('sends a queued message once when its ack comes after the retry timer fired', async () => {
    const a = await user();
    const bClient = sdkClient(app.instance.url);
    open.push(bClient);
    const bSession = await bClient.register({
      username: `sdkb${Date.now() % 100000}_${++n}`,
      password: 'Passw0rd!',
    });
    const bId = String(bSession.user?.id);
    const cid = await befriend(a.client, a.id, bClient, bId);
    // A client whose ack timeout is shorter than any round trip, and whose retry waits no time, sends each
    // message again before its first ack can arrive (an ack takes a database write).
    const hasty = sdkClient(app.instance.url, {
      token: a.client.getToken(),
      ackTimeoutMs: 1,
      backoff: { initialMs: 1, maxMs: 1, random: () => 0 },
    });
    open.push(hasty);
    const rec = new Recorder(hasty);
    const ready = nextReady(hasty);
    hasty.connect();
    await ready;
    const sent = [1, 2, 3].map((i) => hasty.send(cid, 'text', text(i)));
    await until('all acked', () => sent.every((s) => rec.outbox.get(s.clientMsgId)?.state === 'sent'));
    const history = await unwrap(
      bClient.api.GET('/api/v1/conversations/{cid}/messages', {
        params: { path: { cid }, query: { limit: 100 } },
      }),
    );
    expect((history.items ?? []).map((m) => (m.content as { text: string }).text)).toEqual([
      'm1',
      'm2',
      'm3',
    ]);
    expect(rec.texts(cid)).toEqual(['m1', 'm2', 'm3']);
    expect(Math.max(...sent.map((s) => rec.outbox.get(s.clientMsgId)?.attempts ?? 0))).toBeGreaterThan(1);
  });

  it('reports a revoked token (close 4001) and does not reconnect with it', async () => {
    const a = await user();
    const unauthorized = new Promise((resolve) => a.client.on('unauthorized', resolve));
    await app.http
      .post('/api/v1/auth/logout')
      .set('authorization', `Bearer ${a.client.getToken()}`)
      .expect(204);
    await expect(unauthorized).resolves.toEqual({ reason: 'revoked', message: expect.any(String) });
    expect(a.client.state).toBe('unauthorized');
    await new Promise((r) => setTimeout(r, 500));
    expect(a.client.state).toBe('unauthorized');
    expect(a.rec.states.filter((s) => s === 'connecting')).toHaveLength(1);
  });

  it('reports a token the server refuses at connect time instead of retrying forever', async () => {
    const client = sdkClient(app.instance.url, { token: 'not-a-token' });
    open.push(client);
    const rec = new Recorder(client);
    const unauthorized = new Promise((resolve) => client.on('unauthorized', resolve));
    client.connect();
    await expect(unauthorized).resolves.toMatchObject({ reason: 'rejected' });
    await new Promise((r) => setTimeout(r, 500));
    expect(client.state).toBe('unauthorized');
    expect(rec.states.filter((s) => s === 'connecting')).toHaveLength(1);
  });
});

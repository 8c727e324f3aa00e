import type { Response } from 'supertest';
import { TestClient } from '../helpers/ws-client';
import { befriend, registerUser, startTestApp, type TestApp } from '../helpers/app';
import { bearer, createGroup, type User } from '../social/social.helpers';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

/**
 * Every text limit counts code points, as a utf8mb4 VARCHAR(n) does: a value of exactly the limit is
 * accepted and stored whole, one more is 400 VALIDATION_FAILED naming the field, never a 500.
 */

/** Text of exactly `n` code points: `first`, then the code points of `rest` over and over. */
function fill(first: string, rest: string, n: number): string {
  const cps = [...rest];
  const out = [first];
  for (let i = 0; out.length < n; i++) out.push(cps[i % cps.length]);
  return out.join('');
}

/** Kinds of text that UTF-16 units and express-validator's isLength count differently from the database. */
const KINDS: Array<[string, (n: number) => string]> = [
  ['plain ASCII', (n) => fill('x', 'abc', n)],
  ['combining marks', (n) => fill('e', '\u0301\u0302\u0323', n)],
  ['variation selectors', (n) => fill('a', '\uFE0F', n)],
  ['text and emoji presentation selectors', (n) => fill('\u263A', '\uFE0E\uFE0F', n)],
  ['emoji', (n) => fill('😀', '🎉😀', n)],
  ['ZWJ sequences', (n) => fill('👩', '\u200D💻', n)],
  ['surrogate pairs', (n) => fill('𝒜', '𠀀𝒜', n)],
];

const URL_HEAD = 'https://example.com/';
/** A URL of exactly `n` code points whose path is made of `kind`. */
function url(kind: (n: number) => string, n: number): string {
  return URL_HEAD + kind(n - URL_HEAD.length);
}

interface Case {
  /** What is limited, e.g. `PATCH /users/me nickname`. */
  name: string;
  field: string;
  limit: number;
  /** Sends `value` in that field; answers the response and the value as stored (null when not read back). */
  send: (value: string) => Promise<{ res: Response; stored: () => Promise<unknown> }>;
  /** A value of `n` code points of this kind for the field (URLs for URL fields). */
  make?: (kind: (n: number) => string, n: number) => string;
  okStatus: number;
}

let app: TestApp;
let owner: User;
let friend: User;
let groupId: string;
let approvalGroupId: string;
let seq = 0;

async function row(sql: string, params: unknown[]): Promise<Record<string, unknown>> {
  const [rows] = await app.instance.mysql.query(sql, params);
  return (rows as Array<Record<string, unknown>>)[0];
}

function msgId(): string {
  return `len-${Date.now()}-${++seq}`;
}

function sendMessage(type: string, content: Record<string, unknown>) {
  return app.http
    .post('/api/v1/messages')
    .set('Authorization', bearer(owner))
    .send({ conversationId: 'w:world', type, content, clientMsgId: msgId() });
}

const CASES: Case[] = [
  {
    name: 'POST /auth/register nickname',
    field: 'nickname',
    limit: 64,
    okStatus: 201,
    send: async (nickname) => {
      const res = await app.http
        .post('/api/v1/auth/register')
        .send({ username: `len${Date.now().toString(36)}${++seq}`, password: 'Passw0rd!', nickname });
      return {
        res,
        stored: async () =>
          (await row('SELECT nickname FROM users WHERE id = ?', [res.body.user.id])).nickname,
      };
    },
  },
  ...(['nickname', 'avatar'] as const).map((field): Case => ({
    name: `PATCH /users/me ${field}`,
    field,
    limit: field === 'nickname' ? 64 : 1024,
    okStatus: 200,
    make: field === 'avatar' ? url : undefined,
    send: async (value) => {
      const res = await app.http
        .patch('/api/v1/users/me')
        .set('Authorization', bearer(owner))
        .send({ [field]: value });
      return {
        res,
        stored: async () => (await row(`SELECT ${field} FROM users WHERE id = ?`, [owner.id]))[field],
      };
    },
  })),
  ...(['message', 'remark'] as const).map((field): Case => ({
    name: `POST /friend-requests ${field}`,
    field,
    limit: field === 'message' ? 500 : 64,
    okStatus: 201,
    send: async (value) => {
      const target = await registerUser(app);
      const res = await app.http
        .post('/api/v1/friend-requests')
        .set('Authorization', bearer(owner))
        .send({ userId: target.id, [field]: value });
      return {
        res,
        stored: async () =>
          (await row(`SELECT ${field} FROM friend_requests WHERE id = ?`, [res.body.id]))[field],
      };
    },
  })),
  ...(['accept', 'reject'] as const).map((action): Case => ({
    name: `POST /friend-requests/:id/${action} ${action === 'accept' ? 'remark' : 'reply'}`,
    field: action === 'accept' ? 'remark' : 'reply',
    limit: action === 'accept' ? 64 : 500,
    okStatus: action === 'accept' ? 200 : 204,
    send: async (value) => {
      const from = await registerUser(app);
      const request = await app.http
        .post('/api/v1/friend-requests')
        .set('Authorization', bearer(from))
        .send({ userId: owner.id });
      expect(request.status).toBe(201);
      const field = action === 'accept' ? 'remark' : 'reply';
      const res = await app.http
        .post(`/api/v1/friend-requests/${request.body.id}/${action}`)
        .set('Authorization', bearer(owner))
        .send({ [field]: value });
      const stored = async () =>
        action === 'accept'
          ? (
              await row('SELECT remark FROM friendships WHERE user_id = ? AND friend_id = ?', [
                owner.id,
                from.id,
              ])
            ).remark
          : (await row('SELECT reply FROM friend_requests WHERE id = ?', [request.body.id])).reply;
      return { res, stored };
    },
  })),
  {
    name: 'PATCH /friends/:userId remark',
    field: 'remark',
    limit: 64,
    okStatus: 200,
    send: async (remark) => {
      const res = await app.http
        .patch(`/api/v1/friends/${friend.id}`)
        .set('Authorization', bearer(owner))
        .send({ remark });
      return {
        res,
        stored: async () =>
          (
            await row('SELECT remark FROM friendships WHERE user_id = ? AND friend_id = ?', [
              owner.id,
              friend.id,
            ])
          ).remark,
      };
    },
  },
  ...(['name', 'avatar'] as const).map((field): Case => ({
    name: `POST /groups ${field}`,
    field,
    limit: field === 'name' ? 64 : 1024,
    okStatus: 201,
    make: field === 'avatar' ? url : undefined,
    send: async (value) => {
      const res = await app.http
        .post('/api/v1/groups')
        .set('Authorization', bearer(owner))
        .send({ name: 'Team', [field]: value });
      return {
        res,
        stored: async () =>
          (await row(`SELECT ${field} FROM chat_groups WHERE id = ?`, [res.body.id]))[field],
      };
    },
  })),
  ...(['name', 'avatar', 'announcement'] as const).map((field): Case => ({
    name: `PATCH /groups/:groupId ${field}`,
    field,
    limit: { name: 64, avatar: 1024, announcement: 2000 }[field],
    okStatus: 200,
    make: field === 'avatar' ? url : undefined,
    send: async (value) => {
      const res = await app.http
        .patch(`/api/v1/groups/${groupId}`)
        .set('Authorization', bearer(owner))
        .send({ [field]: value });
      return {
        res,
        stored: async () => (await row(`SELECT ${field} FROM chat_groups WHERE id = ?`, [groupId]))[field],
      };
    },
  })),
  {
    name: 'POST /groups/:groupId/join message',
    field: 'message',
    limit: 500,
    okStatus: 202,
    send: async (message) => {
      const joiner = await registerUser(app);
      const res = await app.http
        .post(`/api/v1/groups/${approvalGroupId}/join`)
        .set('Authorization', bearer(joiner))
        .send({ message });
      return {
        res,
        stored: async () =>
          (await row('SELECT message FROM group_join_requests WHERE id = ?', [res.body.id])).message,
      };
    },
  },
  {
    name: 'PATCH /groups/:groupId/members/:userId nickname',
    field: 'nickname',
    limit: 64,
    okStatus: 200,
    send: async (nickname) => {
      const res = await app.http
        .patch(`/api/v1/groups/${groupId}/members/${owner.id}`)
        .set('Authorization', bearer(owner))
        .send({ nickname });
      return {
        res,
        stored: async () =>
          (
            await row('SELECT nickname FROM group_members WHERE group_id = ? AND user_id = ?', [
              groupId,
              owner.id,
            ])
          ).nickname,
      };
    },
  },
  ...(
    [
      ['text', 'text', 4000, (v: string) => ({ text: v })],
      ['file', 'name', 255, (v: string) => ({ url: 'https://example.com/f', name: v, size: 1 })],
      ['location', 'label', 200, (v: string) => ({ latitude: 1, longitude: 2, label: v })],
      ['emoji', 'code', 64, (v: string) => ({ code: v })],
      ['image', 'url', 2048, (v: string) => ({ url: v })],
    ] as const
  ).map(([type, field, limit, content]): Case => ({
    name: `POST /messages ${type} ${field}`,
    field: 'content',
    limit,
    okStatus: 201,
    make: field === 'url' ? url : undefined,
    send: async (value) => {
      const res = await sendMessage(type, content(value));
      return { res, stored: async () => (res.body.content as Record<string, unknown>)[field] };
    },
  })),
];

beforeAll(async () => {
  app = await startTestApp({
    rateLimit: {
      registerPerMinute: 100000,
      loginPerMinute: 100000,
    },
  });
  owner = await registerUser(app);
  friend = await registerUser(app);
  await befriend(app, owner, friend);
  groupId = (await createGroup(app, owner, { joinPolicy: 'approval' })).id;
  approvalGroupId = (await createGroup(app, friend, { joinPolicy: 'approval' })).id;
});

afterAll(async () => {
  await app.close();
});

needsServers.each(CASES)('$name (at most $limit characters)', (c) => {
  const make = (kind: (n: number) => string, n: number) => (c.make ? c.make(kind, n) : kind(n));

  it.each(KINDS)('stores %s at the limit whole and refuses one more with 400', async (_label, kind) => {
    const atLimit = make(kind, c.limit);
    const ok = await c.send(atLimit);
    expect({ status: ok.res.status, body: ok.res.status === c.okStatus ? null : ok.res.body }).toEqual({
      status: c.okStatus,
      body: null,
    });
    expect(await ok.stored()).toBe(atLimit);

    const { res: past } = await c.send(make(kind, c.limit + 1));
    expect(past.status).toBe(400);
    expect(past.body.error.code).toBe('VALIDATION_FAILED');
    expect(past.body.error.details).toEqual([expect.objectContaining({ field: c.field })]);
  });
});

needsServers('WS send', () => {
  it.each(KINDS)(
    'acks a text of 4000 characters of %s and refuses 4001 with VALIDATION_FAILED',
    async (_l, kind) => {
      const ws = await TestClient.connect(app.instance.url, owner.token);
      await ws.next('ready');
      const send = (text: string, id: string) =>
        ws.ws.send(
          JSON.stringify({
            type: 'send',
            id,
            data: { conversationId: 'w:world', type: 'text', content: { text }, clientMsgId: msgId() },
          }),
        );
      const atLimit = kind(4000);
      send(atLimit, 'a');
      const ack = await ws.next('ack');
      expect((ack.data.message as { content: { text: string } }).content.text).toBe(atLimit);
      send(kind(4001), 'b');
      const err = await ws.next('error');
      expect(err.data).toEqual(expect.objectContaining({ id: 'b', code: 'VALIDATION_FAILED' }));
      ws.ws.close();
    },
  );
});

needsServers('GET /api/v1/users', () => {
  it.each(KINDS)('takes a q of 64 characters of %s and refuses 65', async (_l, kind) => {
    const q = (value: string) =>
      app.http.get('/api/v1/users').set('Authorization', bearer(owner)).query({ q: value });
    expect((await q(kind(64))).status).toBe(200);
    const past = await q(kind(65));
    expect(past.status).toBe(400);
    expect(past.body.error.details).toEqual([expect.objectContaining({ field: 'q' })]);
  });

  it('pages with a cursor through every nickname the API accepted', async () => {
    const nicknames = [
      ...KINDS.map(([, kind]) => `zz${kind(62)}`),
      `zz${'\u0001'.repeat(62)}`,
      `zz${'"\\'.repeat(31)}`,
      `zz${'\uD800'.repeat(62)}`,
    ];
    const ids = new Set<string>();
    for (const nickname of nicknames) {
      const u = await registerUser(app, { nickname });
      ids.add(u.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page <= nicknames.length + 1; page++) {
      const res: Response = await app.http
        .get('/api/v1/users')
        .set('Authorization', bearer(owner))
        .query({ q: 'zz', limit: 1, ...(cursor ? { cursor } : {}) });
      expect({ status: res.status, error: res.body.error ?? null }).toEqual({ status: 200, error: null });
      seen.push(...res.body.items.map((u: { id: string }) => u.id));
      cursor = res.body.nextCursor;
      if (!cursor) break;
    }
    expect(new Set(seen)).toEqual(ids);
    expect(seen).toHaveLength(ids.size);
  });
});

import net from 'node:net';
import http from 'node:http';
import { loadConfig } from '../../src/config';
import {
  PeerHttp,
  PeerPolicy,
  PeerRefused,
  isPrivateAddress,
} from '../../src/modules/federation/federation.peers';
import { signFederationRequest } from '../../src/modules/federation/federation.signatures';
import { startTestApp, type TestApp } from '../helpers/app';
import { freePort } from '../helpers/private-servers';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

function fed(domain: string, port: number, peers: string, extra: Record<string, unknown> = {}) {
  return {
    server: { port },
    federation: { enabled: true, domain, publicUrl: `http://127.0.0.1:${port}`, peers, ...extra },
  };
}

async function wellKnownHits(app: TestApp): Promise<number> {
  const text = await app.instance.metrics.registry.getSingleMetricAsString(
    'jim_http_request_duration_seconds',
  );
  const m =
    /jim_http_request_duration_seconds_count\{[^}]*route="\/\.well-known\/jim\/server"[^}]*\} (\d+)/.exec(
      text,
    );
  return m ? Number(m[1]) : 0;
}

async function peerKeyRows(app: TestApp, domain: string): Promise<string[]> {
  const [rows] = await app.instance.mysql.query('SELECT key_id FROM federation_peer_keys WHERE domain = ?', [
    domain,
  ]);
  return (rows as Array<{ key_id: string }>).map((r) => r.key_id).sort();
}

// Federation runs in the distributed mode: both URLs set (nothing connects to them here).
const DISTRIBUTED = { MYSQL_URL: 'mysql://root@127.0.0.1:3306/x', REDIS_URL: 'redis://127.0.0.1:6379/0' };

describe('federation settings', () => {
  it('refuses to start federation without a domain or a public URL, naming the variable', () => {
    expect(() =>
      loadConfig({
        env: {
          NODE_ENV: 'test',
          ...DISTRIBUTED,
          FEDERATION_ENABLED: 'true',
          FEDERATION_PUBLIC_URL: 'http://x',
        },
      }),
    ).toThrow(/federation\.domain \(FEDERATION_DOMAIN\)/);
    expect(() =>
      loadConfig({
        env: { NODE_ENV: 'test', ...DISTRIBUTED, FEDERATION_ENABLED: 'true', FEDERATION_DOMAIN: 'a.example' },
      }),
    ).toThrow(/federation\.publicUrl \(FEDERATION_PUBLIC_URL\)/);
    expect(() => loadConfig({ env: { NODE_ENV: 'test', FEDERATION_PEERS: 'B.example=http://x' } })).toThrow(
      /FEDERATION_PEERS/,
    );
    expect(() => loadConfig({ env: { NODE_ENV: 'test', FEDERATION_KEY_CACHE_SECONDS: '604801' } })).toThrow(
      /at most 7 days/,
    );
  });
});

describe('peer policy', () => {
  it('allows only listed peers in allowlist mode, and never ourselves or a denied domain', () => {
    const p = new PeerPolicy(
      'a.example',
      'allowlist',
      'b.example=https://b.example/, c.example=http://10.0.0.3:3000',
      'c.example',
    );
    expect(p.isAllowed('b.example')).toBe(true);
    expect(p.isAllowed('B.EXAMPLE')).toBe(true);
    expect(p.isAllowed('c.example')).toBe(false);
    expect(p.isAllowed('d.example')).toBe(false);
    expect(p.isAllowed('a.example')).toBe(false);
    expect(p.baseUrl('b.example')).toBe('https://b.example');
    expect(p.baseUrl('d.example')).toBeNull();
  });

  it('allows any well-formed domain not denied in open mode, reached over https', () => {
    const p = new PeerPolicy('a.example', 'open', '', 'evil.example');
    expect(p.isAllowed('d.example')).toBe(true);
    expect(p.baseUrl('d.example')).toBe('https://d.example');
    expect(p.isAllowed('evil.example')).toBe(false);
    expect(p.isAllowed('bad domain')).toBe(false);
    expect(p.isAllowed('x.example/../y')).toBe(false);
  });

  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['8.8.8.8', false],
    ['::1', true],
    ['::', true],
    ['fd00::1', true],
    ['fe80::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:8.8.8.8', false],
    ['2606:4700::1111', false],
  ])('isPrivateAddress(%s) is %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });

  it('in open mode never connects to a loopback address for a peer not configured by name', async () => {
    const http = new PeerHttp(new PeerPolicy('a.example', 'open', '', ''));
    await expect(http.request('127.0.0.1:9', 'GET', '/.well-known/jim/server')).rejects.toBeInstanceOf(
      PeerRefused,
    );
    await expect(http.request('localhost:9', 'GET', '/.well-known/jim/server')).rejects.toBeInstanceOf(
      PeerRefused,
    );
  });

  it('reaches a peer configured by host name (the name resolved as the socket asks)', async () => {
    const server = http.createServer((_req, res) => res.end('{"ok":true}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      const peers = new PeerHttp(
        new PeerPolicy('a.example', 'allowlist', `b.example=http://localhost:${port}`, ''),
      );
      const res = await peers.request('b.example', 'GET', '/.well-known/jim/server');
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body.toString())).toEqual({ ok: true });
    } finally {
      server.close();
    }
  });

  it('never sends to a domain that is not allowed', async () => {
    const http = new PeerHttp(new PeerPolicy('a.example', 'allowlist', 'b.example=http://127.0.0.1:9', ''));
    await expect(http.request('c.example', 'GET', '/')).rejects.toThrow(/not an allowed peer/);
  });
});

needsServers('server identity and signed requests between two servers', () => {
  let a: TestApp;
  let a2: TestApp;
  let b: TestApp;
  let c: TestApp;
  let portA: number;
  let portB: number;

  beforeAll(async () => {
    [portA, portB] = [await freePort(), await freePort()];
    const portC = await freePort();
    const peersOfA = `b.example=http://127.0.0.1:${portB}`;
    const peersOfB = `a.example=http://127.0.0.1:${portA},c.example=http://127.0.0.1:${portC}`;
    a = await startTestApp(fed('a.example', portA, peersOfA));
    [b, c] = await Promise.all([
      startTestApp(fed('b.example', portB, peersOfB, { deny: 'c.example', keyRefetchSeconds: 3600 })),
      startTestApp(fed('c.example', portC, `b.example=http://127.0.0.1:${portB}`)),
    ]);
    a2 = await startTestApp(fed('a.example', 0, peersOfA), { shareWith: a });
  });

  afterAll(async () => {
    await a2?.close();
    await Promise.all([a?.close(), b?.close(), c?.close()]);
  });

  it('serves the well-known document with one current key shared by every instance', async () => {
    const one = await a.http.get('/.well-known/jim/server').expect(200);
    const two = await a2.http.get('/.well-known/jim/server').expect(200);
    expect(one.body.serverName).toBe('a.example');
    expect(one.body.federationUrl).toBe(`http://127.0.0.1:${portA}`);
    expect(Object.keys(one.body.verifyKeys)).toHaveLength(1);
    expect(one.body.verifyKeys).toEqual(two.body.verifyKeys);
    const [keyId, key] = Object.entries(one.body.verifyKeys as Record<string, string>)[0];
    expect(keyId).toMatch(/^ed25519:/);
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(one.body.oldVerifyKeys).toEqual({});
    expect(Date.parse(one.body.validUntil)).toBeGreaterThan(Date.now());
  });

  it('agrees on one key when instances start at once on a fresh database', async () => {
    // The first instance migrates the database; the key is made by whichever instance gets there first.
    const first = await startTestApp(fed('x.example', 0, ''));
    await first.instance.mysql.query('DELETE FROM federation_keys');
    const others = await Promise.all(
      [1, 2, 3, 4].map(() => startTestApp(fed('x.example', 0, ''), { shareWith: first })),
    );
    const [rows] = await first.instance.mysql.query('SELECT key_id FROM federation_keys');
    expect(rows).toHaveLength(1);
    const docs = await Promise.all(others.map((o) => o.http.get('/.well-known/jim/server').expect(200)));
    for (const d of docs)
      expect(Object.keys(d.body.verifyKeys)).toEqual([(rows as Array<{ key_id: string }>)[0].key_id]);
    for (const o of others) await o.close();
    await first.close();
  });

  it('has no well-known document or federation routes when federation is off', async () => {
    const off = await startTestApp();
    try {
      await off.http.get('/.well-known/jim/server').expect(404);
      await off.http.post('/federation/v1/ping').send({}).expect(404);
    } finally {
      await off.close();
    }
  });

  it('accepts a signed request from an allowed peer, fetching and caching its keys', async () => {
    const res = await a.instance.federation!.send('b.example', 'POST', '/federation/v1/ping', {});
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({ serverName: 'b.example', origin: 'a.example' });
    const keyId = (await a.instance.federation!.keys.signingKey()).keyId;
    expect(await peerKeyRows(b, 'a.example')).toEqual([keyId]);
    const hits = await wellKnownHits(a);
    expect((await a.instance.federation!.send('b.example', 'POST', '/federation/v1/ping', {})).status).toBe(
      200,
    );
    expect(await wellKnownHits(a)).toBe(hits);
  });

  it('refuses a tampered body, a replay and a request for another server, with 401 or 403', async () => {
    const fedA = a.instance.federation!;
    const key = await fedA.keys.signingKey();
    const body = Buffer.from('{}');
    const headers = signFederationRequest(
      { method: 'POST', target: '/federation/v1/ping', body, origin: 'a.example', destination: 'b.example' },
      key,
      { nonce: 'fixed-nonce-1' },
    );
    const send = (h: Record<string, string>, raw: string) =>
      b.http.post('/federation/v1/ping').set(h).set('content-type', 'application/json').send(raw);
    const tampered = await send(headers, '{"x":1}');
    expect(tampered.status).toBe(401);
    expect(tampered.body.error).toMatchObject({
      code: 'SIGNATURE_INVALID',
      details: [{ reason: 'digest_mismatch' }],
    });
    expect((await send(headers, '{}')).status).toBe(200);
    const replay = await send(headers, '{}');
    expect(replay.status).toBe(401);
    expect(replay.body.error.details).toEqual([{ reason: 'replayed' }]);
    const other = signFederationRequest(
      { method: 'POST', target: '/federation/v1/ping', body, origin: 'a.example', destination: 'c.example' },
      key,
      { nonce: 'fixed-nonce-2' },
    );
    const wrong = await send(other, '{}');
    expect(wrong.status).toBe(403);
    expect(wrong.body.error).toMatchObject({
      code: 'PEER_NOT_ALLOWED',
      details: [{ reason: 'wrong_destination' }],
    });
    const unsigned = await b.http.post('/federation/v1/ping').send({});
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.error.details).toEqual([{ reason: 'unsigned' }]);
  });

  it('refuses a denied peer with 403 without fetching its keys', async () => {
    const hits = await wellKnownHits(c);
    const res = await c.instance.federation!.send('b.example', 'POST', '/federation/v1/ping', {});
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body.toString()).error.details).toEqual([{ reason: 'origin_not_allowed' }]);
    expect(await wellKnownHits(c)).toBe(hits);
    expect(await peerKeyRows(b, 'c.example')).toEqual([]);
  });

  it('after a key rotation lists the old key with its expiry; old signatures made before still verify', async () => {
    const fedA = a.instance.federation!;
    const oldKey = await fedA.keys.signingKey();
    const body = Buffer.from('{}');
    const signedBefore = signFederationRequest(
      { method: 'POST', target: '/federation/v1/ping', body, origin: 'a.example', destination: 'b.example' },
      oldKey,
      { nonce: 'before-rotation', now: Date.now() - 2000 },
    );
    const newKeyId = await fedA.keys.rotate();
    const doc = (await a.http.get('/.well-known/jim/server').expect(200)).body;
    expect(Object.keys(doc.verifyKeys)).toEqual([newKeyId]);
    expect(doc.oldVerifyKeys[oldKey.keyId]).toMatchObject({
      key: expect.any(String),
      expiredAt: expect.any(String),
    });

    // A message signed with the new key makes B fetch again (an unknown key id), and it verifies.
    const res = await fedA.send('b.example', 'POST', '/federation/v1/ping', {});
    expect(res.status).toBe(200);
    expect(await peerKeyRows(b, 'a.example')).toEqual([oldKey.keyId, newKeyId].sort());

    // Signed before the rotation with the old key: still verifies.
    const before = await b.http
      .post('/federation/v1/ping')
      .set(signedBefore)
      .set('content-type', 'application/json')
      .send('{}');
    expect(before.status).toBe(200);

    // Signed with the old key after it expired: refused.
    await new Promise((r) => setTimeout(r, 1100));
    const after = signFederationRequest(
      { method: 'POST', target: '/federation/v1/ping', body, origin: 'a.example', destination: 'b.example' },
      oldKey,
      { nonce: 'after-rotation' },
    );
    const late = await b.http
      .post('/federation/v1/ping')
      .set(after)
      .set('content-type', 'application/json')
      .send('{}');
    expect(late.status).toBe(401);
    expect(late.body.error.details).toEqual([{ reason: 'unknown_key' }]);
  });

  it('fetches again at most once per period when unknown key ids arrive', async () => {
    const fedA = a.instance.federation!;
    const body = Buffer.from('{}');
    const real = await fedA.keys.signingKey();
    const hits = await wellKnownHits(a);
    for (const n of [1, 2, 3]) {
      const headers = signFederationRequest(
        {
          method: 'POST',
          target: '/federation/v1/ping',
          body,
          origin: 'a.example',
          destination: 'b.example',
        },
        { keyId: `ed25519:unknown${n}`, privateKey: real.privateKey },
        { nonce: `unknown-key-${n}` },
      );
      const res = await b.http
        .post('/federation/v1/ping')
        .set(headers)
        .set('content-type', 'application/json')
        .send('{}');
      expect(res.status).toBe(401);
      expect(res.body.error.details).toEqual([{ reason: 'unknown_key' }]);
    }
    // The rotation test above used up this period's fetch (keyRefetchSeconds is an hour here).
    expect(await wellKnownHits(a)).toBe(hits);
  });
});

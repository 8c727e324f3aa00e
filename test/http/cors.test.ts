import { registerUser, startTestApp, type TestApp } from '../helpers/app';
import { refusedUpgrade, upgradeStatus } from '../helpers/ws-client';
import { originCheck } from '../../src/http/cors';
import { loadConfig } from '../../src/config';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

const LOCAL_APP = 'http://localhost:5173';
const FOREIGN = 'https://evil.example';

describe('originCheck (cors.origins)', () => {
  it('allows no origin in production by default', () => {
    const allows = originCheck({ env: 'production', origins: '' });
    for (const o of [LOCAL_APP, 'http://127.0.0.1:3000', 'https://app.example.com'])
      expect(allows(o)).toBe(false);
  });

  it('allows any localhost origin, and only those, outside production by default', () => {
    const allows = originCheck({ env: 'development', origins: '' });
    for (const o of [
      LOCAL_APP,
      'https://localhost',
      'http://127.0.0.1:8080',
      'http://[::1]:3000',
      'http://app.localhost:5173',
    ])
      expect(allows(o)).toBe(true);
    for (const o of [
      FOREIGN,
      'http://localhost.evil.example',
      'null',
      'file://',
      'http://localhost:5173/path',
    ])
      expect(allows(o)).toBe(false);
  });

  it('allows exactly the configured origins and subdomain patterns, replacing the default', () => {
    const allows = originCheck({
      env: 'development',
      origins: 'https://app.example.com, https://*.preview.example.com,http://intranet:8080',
    });
    for (const o of ['https://app.example.com', 'https://pr-12.preview.example.com', 'http://intranet:8080'])
      expect(allows(o)).toBe(true);
    for (const o of [
      'http://app.example.com',
      'https://app.example.com:8443',
      'https://preview.example.com',
      'https://evilpreview.example.com',
      'http://intranet',
      LOCAL_APP,
    ])
      expect(allows(o)).toBe(false);
  });

  it('allows every http(s) origin with *', () => {
    const allows = originCheck({ env: 'production', origins: '*' });
    expect(allows(FOREIGN)).toBe(true);
    expect(allows('null')).toBe(false);
  });

  it('refuses a CORS_ORIGINS entry that is not an origin, naming the variable', () => {
    for (const bad of ['app.example.com', 'https://app.example.com/path', 'ftp://x.example', 'https://*']) {
      expect(() => loadConfig({ env: { CORS_ORIGINS: bad } })).toThrow(/cors\.origins \(CORS_ORIGINS\)/);
    }
    expect(
      loadConfig({ env: { CORS_ORIGINS: 'https://a.example, https://*.b.example:8443' } }).cors.origins,
    ).toBe('https://a.example, https://*.b.example:8443');
  });
});

needsServers('CORS and security headers (default origins outside production)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers the preflight of an allowed origin with 204 and caches it', async () => {
    const res = await app.http
      .options('/api/v1/users/me')
      .set('Origin', LOCAL_APP)
      .set('Access-Control-Request-Method', 'PATCH')
      .set('Access-Control-Request-Headers', 'authorization,content-type,x-request-id');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(LOCAL_APP);
    expect(res.headers['access-control-allow-methods']).toContain('PATCH');
    expect(res.headers['access-control-allow-headers']).toBe('authorization,content-type,x-request-id');
    expect(res.headers['access-control-max-age']).toBe('600');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(res.headers.vary).toMatch(/Origin/);
  });

  it('lets an allowed origin read the reply, X-Request-Id and Retry-After included', async () => {
    const u = await registerUser(app);
    const res = await app.http
      .get('/api/v1/users/me')
      .set('Origin', LOCAL_APP)
      .set('Authorization', `Bearer ${u.token}`);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(LOCAL_APP);
    const exposed = String(res.headers['access-control-expose-headers']).split(',');
    expect(exposed).toEqual(expect.arrayContaining(['X-Request-Id', 'Retry-After']));
    expect(res.headers.vary).toMatch(/Origin/);
    // Errors carry the headers too, or the page could not read the error body.
    const err = await app.http.get('/api/v1/users/me').set('Origin', LOCAL_APP);
    expect(err.status).toBe(401);
    expect(err.headers['access-control-allow-origin']).toBe(LOCAL_APP);
  });

  it('gives an origin that is not allowed no CORS headers', async () => {
    const pre = await app.http
      .options('/api/v1/auth/login')
      .set('Origin', FOREIGN)
      .set('Access-Control-Request-Method', 'POST');
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    expect(pre.headers['access-control-allow-methods']).toBeUndefined();
    const res = await app.http.get('/healthz').set('Origin', FOREIGN);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('sends security headers on every response, errors included', async () => {
    for (const path of ['/healthz', '/api/v1/nope', '/openapi.json']) {
      const res = await app.http.get(path);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
      expect(res.headers['content-security-policy']).not.toMatch(/upgrade-insecure-requests/);
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
  });

  it('keeps the Swagger UI page working under its content security policy', async () => {
    const page = await app.http.get('/docs/');
    expect(page.status).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'self'/);
    expect(page.text).toMatch(/<style>/);
    expect(csp).toMatch(/style-src 'self' https: 'unsafe-inline'/);
    // Every script the page runs is a same-origin file that the policy allows, never inline code.
    const scripts = [...page.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      const src = /src=["']([^"']+)["']/.exec(attrs)?.[1];
      expect(src).toMatch(/^\.\/[\w.-]+\.js$/);
      expect(body.trim()).toBe('');
      const file = await app.http.get(`/docs/${src!.slice(2)}`);
      expect(file.status).toBe(200);
      expect(file.headers['content-type']).toMatch(/javascript/);
    }
    for (const [, href] of page.text.matchAll(/<link[^>]*href=["']([^"']+)["']/g)) {
      expect(href).toMatch(/^\.\//);
      expect((await app.http.get(`/docs/${href.slice(2)}`)).status).toBe(200);
    }
    const init = await app.http.get('/docs/swagger-ui-init.js');
    expect(init.text).toMatch(/"validatorUrl":\s*null/);
  });

  it('accepts WebSocket upgrades from allowed origins and from clients without an Origin', async () => {
    const u = await registerUser(app);
    const path = `/ws?token=${encodeURIComponent(u.token)}`;
    expect(await upgradeStatus(app.instance.url, path, { Origin: LOCAL_APP })).toBe(0);
    expect(await upgradeStatus(app.instance.url, path)).toBe(0);
  });

  it('refuses a WebSocket upgrade from an origin that is not allowed with 403 FORBIDDEN', async () => {
    const u = await registerUser(app);
    const refused = await refusedUpgrade(app.instance.url, `/ws?token=${encodeURIComponent(u.token)}`, {
      Origin: FOREIGN,
    });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
  });
});

needsServers('CORS with configured origins', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ cors: { origins: 'https://app.example.com', maxAgeSeconds: 120 } });
  });
  afterAll(async () => {
    await app.close();
  });

  it('allows only the listed origins, with the configured preflight lifetime', async () => {
    const pre = await app.http
      .options('/api/v1/messages')
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'POST');
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(pre.headers['access-control-max-age']).toBe('120');
    const local = await app.http.get('/healthz').set('Origin', LOCAL_APP);
    expect(local.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses WebSocket upgrades from other origins but not from pages of its own host', async () => {
    const u = await registerUser(app);
    const path = `/ws?token=${encodeURIComponent(u.token)}`;
    expect(await upgradeStatus(app.instance.url, path, { Origin: 'https://app.example.com' })).toBe(0);
    expect(await upgradeStatus(app.instance.url, path, { Origin: LOCAL_APP })).toBe(403);
    expect(await upgradeStatus(app.instance.url, path, { Origin: app.instance.url })).toBe(0);
  });
});

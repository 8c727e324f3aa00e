import http from 'node:http';
import { Writable } from 'node:stream';
import { spawn } from 'node:child_process';
import { validatedRequest } from '../helpers/openapi';
import { Redis } from 'ioredis';
import type { Express } from 'express';
import { dropDatabase, registerUser, startTestApp, testConfig, type TestApp } from '../helpers/app';
import { createLogger } from '../../src/shared/logger';
import { startInstance, type Instance } from '../../src/server';
import { describeWith } from '../helpers/servers';
import { PrivateRedis, privateServersAvailable } from '../helpers/private-servers';
import { eventually } from '../helpers/ws-client';
import type { Config, DeepPartial } from '../../src/config';
const needsServers = describeWith('mysql', 'redis');

interface RouterLayer {
  rawPath?: unknown;
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
}

/** Every route the app serves, walked from the Express 5 router stack, as OpenAPI paths. */
function mountedRoutes(app: Express): Array<{ method: string; path: string }> {
  const out: Array<{ method: string; path: string }> = [];
  const walk = (stack: RouterLayer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const p of paths) {
          for (const [method, on] of Object.entries(layer.route.methods)) {
            if (!on || method === '_all') continue;
            out.push({ method, path: (prefix + p).replace(/:(\w+)/g, '{$1}') });
          }
        }
      } else if (layer.handle?.stack && typeof layer.rawPath === 'string') {
        walk(layer.handle.stack, layer.rawPath === '/' ? prefix : prefix + layer.rawPath);
      }
    }
  };
  walk((app as unknown as { router: { stack: RouterLayer[] } }).router.stack, '');
  return out.filter((r) => r.path !== '/docs' && !r.path.startsWith('/docs/'));
}

/**
 * Validates an OpenAPI document with @apidevtools/swagger-parser in a child process (the parser's
 * dependencies are ES modules, which jest's CommonJS runtime cannot load). Resolves to the error text, or null.
 */
function openApiProblems(doc: unknown): Promise<string | null> {
  const script =
    "const SP = require('@apidevtools/swagger-parser'); let s = '';" +
    "process.stdin.on('data', (d) => (s += d)).on('end', () => SP.validate(JSON.parse(s))" +
    '.then(() => process.exit(0), (e) => { process.stderr.write(String(e.message)); process.exit(1); }));';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { cwd: process.cwd() });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve(code === 0 ? null : stderr || `exit ${code}`));
    child.stdin.end(JSON.stringify(doc));
  });
}

/** A log destination that keeps every line in memory. */
function memoryLog(): { stream: Writable; lines: Array<Record<string, unknown>>; text: () => string } {
  const chunks: string[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const text = chunk.toString();
      chunks.push(text);
      for (const line of text.split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { stream, lines, text: () => chunks.join('') };
}

/** Boots an instance that logs into memory; close() stops it and drops its data. */
async function startLoggedInstance(overrides: DeepPartial<Config> = {}): Promise<{
  instance: Instance;
  log: ReturnType<typeof memoryLog>;
  close: () => Promise<void>;
}> {
  const config = testConfig({ log: { level: 'info' }, ...overrides });
  const log = memoryLog();
  const instance = await startInstance(config, createLogger({ level: 'info' }, log.stream));
  return {
    instance,
    log,
    close: async () => {
      const keys = await instance.redis.command.keys(`${config.redis.prefix}*`);
      if (keys.length) await instance.redis.command.del(...keys);
      await instance.stop();
      await dropDatabase(config.mysql.url);
    },
  };
}

needsServers('service routes', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  describe('GET /healthz', () => {
    it('answers 200 {status:"ok"}', async () => {
      const res = await app.http.get('/healthz');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    });
  });

  describe('GET /readyz', () => {
    it('answers 200 with every check ok', async () => {
      const res = await app.http.get('/readyz');
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('ok');
      expect(res.body.checks).toMatchObject({ mysql: 'ok', redis: 'ok' });
      for (const v of Object.values(res.body.checks)) expect(v).toBe('ok');
    });
  });

  describe('GET /metrics', () => {
    it('answers Prometheus text with process metrics and the HTTP histogram labelled by route', async () => {
      const u = await registerUser(app);
      await app.http.get('/api/v1/users/me').set('Authorization', `Bearer ${u.token}`);
      await app.http.get(`/api/v1/users/${u.id}`).set('Authorization', `Bearer ${u.token}`);
      await app.http.get('/api/v1/nope');
      const res = await app.http.get('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toContain('# TYPE jim_http_request_duration_seconds histogram');
      expect(res.text).toMatch(
        /jim_http_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/users\/me"[^}]*status="200"[^}]*\}/,
      );
      expect(res.text).toMatch(
        /jim_http_request_duration_seconds_count\{[^}]*route="\/api\/v1\/users\/:userId"/,
      );
      expect(res.text).toMatch(
        /jim_http_request_duration_seconds_count\{[^}]*route="unmatched"[^}]*status="404"/,
      );
      expect(res.text).toContain('jim_process_cpu_user_seconds_total');
      expect(res.text).not.toMatch(new RegExp(`route="/api/v1/users/${u.id}"`));
    });
  });

  describe('GET /docs', () => {
    it('serves the Swagger UI page', async () => {
      const redirect = await app.http.get('/docs');
      expect([200, 301]).toContain(redirect.status);
      const res = await app.http.get('/docs/');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toContain('swagger-ui');
      expect(res.text).toContain('<title>JIM API</title>');
    });

    it('serves the Swagger UI assets', async () => {
      const res = await app.http.get('/docs/swagger-ui-init.js');
      expect(res.status).toBe(200);
      expect(res.text).toContain('/api/v1/auth/login');
    });
  });

  describe('GET /openapi.json', () => {
    it('is a valid OpenAPI 3 document', async () => {
      const res = await app.http.get('/openapi.json');
      expect(res.status).toBe(200);
      expect(res.body.openapi).toMatch(/^3\./);
      expect(await openApiProblems(res.body)).toBeNull();
    });

    it('describes every mounted route', async () => {
      const doc = (await app.http.get('/openapi.json')).body as {
        paths: Record<string, Record<string, unknown>>;
      };
      const routes = mountedRoutes(app.instance.app);
      expect(routes).toEqual(expect.arrayContaining([{ method: 'get', path: '/api/v1/users/{userId}' }]));
      const missing = routes
        .filter((r) => !doc.paths[r.path]?.[r.method])
        .map((r) => `${r.method.toUpperCase()} ${r.path}`);
      expect(missing).toEqual([]);
    });

    it('describes the accounts API of the contract', async () => {
      const doc = (await app.http.get('/openapi.json')).body as { paths: Record<string, object> };
      const expected: Array<[string, string]> = [
        ['get', '/api/v1/captcha'],
        ['post', '/api/v1/auth/register'],
        ['post', '/api/v1/auth/login'],
        ['post', '/api/v1/auth/logout'],
        ['get', '/api/v1/users/me'],
        ['patch', '/api/v1/users/me'],
        ['put', '/api/v1/users/me/password'],
        ['get', '/api/v1/users/{userId}'],
        ['get', '/api/v1/users'],
        ['get', '/healthz'],
        ['get', '/readyz'],
        ['get', '/metrics'],
      ];
      for (const [method, path] of expected) expect(doc.paths[path]).toHaveProperty(method);
    });
  });
});

// A private redis-server, killed under a running instance; the shared one is never touched.
(privateServersAvailable() ? describeWith('mysql') : describe.skip)('GET /readyz with Redis down', () => {
  let redis: PrivateRedis;
  let booted: Awaited<ReturnType<typeof startLoggedInstance>>;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    booted = await startLoggedInstance({ redis: { url: redis.url, commandTimeoutMs: 500 } });
  }, 60_000);
  afterAll(async () => {
    await booted?.close();
    await redis?.destroy();
  });

  it('answers 503 naming redis as failed, with the reason in the log only, and 200 once it is back', async () => {
    const ready = () => validatedRequest(booted.instance.url).get('/readyz');
    expect((await ready()).status).toBe(200);
    await redis.kill();
    const res = await ready();
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      status: 'unavailable',
      checks: { mysql: 'ok', redis: 'failed', uploads: 'ok' },
    });
    expect((await validatedRequest(booted.instance.url).get('/healthz')).status).toBe(200);
    const logged = booted.log.lines.find((l) => l.msg === 'readiness check failed');
    expect(logged).toMatchObject({ level: 'warn', check: 'redis', err: { message: expect.any(String) } });
    expect(res.text).not.toContain((logged!.err as { message: string }).message);
    await redis.start();
    await eventually(async () => (await ready()).status === 200);
  });
});

needsServers('request logs', () => {
  let booted: Awaited<ReturnType<typeof startLoggedInstance>>;
  beforeAll(async () => {
    booted = await startLoggedInstance();
  });
  afterAll(async () => {
    await booted.close();
  });

  const requestLines = () => booted.log.lines.filter((l) => l.msg === 'request');
  const flush = () => new Promise((r) => setImmediate(r));

  it('writes one JSON line per request with reqId, method, route, status, latencyMs, userId and ip', async () => {
    const http = validatedRequest(booted.instance.url);
    const reg = await http
      .post('/api/v1/auth/register')
      .send({ username: 'logged_user', password: 'Passw0rd!' });
    expect(reg.status).toBe(201);
    const res = await http
      .get('/api/v1/users/me')
      .set('Authorization', `Bearer ${reg.body.token}`)
      .set('X-Request-Id', 'log-test-1');
    expect(res.status).toBe(200);
    await flush();
    const line = requestLines().find((l) => l.reqId === 'log-test-1');
    expect(line).toEqual(
      expect.objectContaining({
        level: 'info',
        time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        reqId: 'log-test-1',
        method: 'GET',
        route: '/api/v1/users/me',
        status: 200,
        latencyMs: expect.any(Number),
        userId: reg.body.user.id,
        ip: expect.stringMatching(/127\.0\.0\.1/),
        msg: 'request',
      }),
    );
    const loginLine = requestLines().find((l) => l.route === '/api/v1/auth/register');
    expect(loginLine).toMatchObject({ status: 201, userId: reg.body.user.id });
    const text = booted.log.text();
    expect(text).not.toContain(reg.body.token);
    expect(text).not.toContain('Passw0rd!');
  });

  it('logs anonymous and failed requests with userId null and their error code', async () => {
    const http = validatedRequest(booted.instance.url);
    await http.get('/api/v1/users/me').set('X-Request-Id', 'log-test-2');
    await http.get('/api/v1/missing').set('X-Request-Id', 'log-test-3');
    await flush();
    expect(requestLines().find((l) => l.reqId === 'log-test-2')).toMatchObject({
      status: 401,
      userId: null,
      errorCode: 'UNAUTHENTICATED',
      route: '/api/v1/users/me',
    });
    expect(requestLines().find((l) => l.reqId === 'log-test-3')).toMatchObject({
      status: 404,
      route: 'unmatched',
      errorCode: 'NOT_FOUND',
    });
  });
});

needsServers('aborted requests', () => {
  it('are logged once with aborted: true and status 499', async () => {
    const booted = await startLoggedInstance();
    try {
      const port = new URL(booted.instance.url).port;
      const arrived = new Promise<void>((resolve) => booted.instance.server.once('request', () => resolve()));
      const req = http.request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/auth/login',
        headers: { 'Content-Type': 'application/json', 'Content-Length': 100, 'X-Request-Id': 'aborted-1' },
      });
      req.on('error', () => undefined);
      req.write('{"username":');
      await arrived;
      req.destroy();
      for (let i = 0; i < 100 && !booted.log.lines.some((l) => l.reqId === 'aborted-1'); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const lines = booted.log.lines.filter((l) => l.reqId === 'aborted-1' && l.msg === 'request');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ status: 499, aborted: true, level: 'info', route: 'unmatched' });
    } finally {
      await booted.close();
    }
  });
});

needsServers('error logs', () => {
  it('logs an unexpected error once with its cause and the request id, at level "error"', async () => {
    const booted = await startLoggedInstance();
    try {
      const http = validatedRequest(booted.instance.url);
      const reg = await http
        .post('/api/v1/auth/register')
        .send({ username: 'err_user', password: 'Passw0rd!' });
      await booted.instance.mysql.end();
      const res = await http
        .get('/api/v1/users/me')
        .set('Authorization', `Bearer ${reg.body.token}`)
        .set('X-Request-Id', 'err-test-1');
      expect(res.status).toBe(500);
      await new Promise((r) => setImmediate(r));
      const errorLines = booted.log.lines.filter((l) => l.reqId === 'err-test-1' && l.level === 'error');
      const withErr = errorLines.filter((l) => l.err);
      expect(withErr).toHaveLength(1);
      expect(withErr[0].err).toMatchObject({ message: expect.any(String), stack: expect.any(String) });
      expect(errorLines.find((l) => l.msg === 'request')).toMatchObject({
        status: 500,
        errorCode: 'INTERNAL',
      });
    } finally {
      await booted.close();
    }
  });
});

needsServers('graceful stop', () => {
  it('lets an in-flight request finish, then stops listening', async () => {
    const booted = await startLoggedInstance();
    const { instance } = booted;
    const port = new URL(instance.url).port;
    const body = JSON.stringify({ username: 'nobody_here', password: 'Wrong-pass1' });

    let stopping: Promise<void> | undefined;
    let listeningAtClose: boolean | undefined;
    const arrived = new Promise<void>((resolve) => instance.server.once('request', () => resolve()));
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/api/v1/auth/login',
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      // Half the body now, the rest only once the server has stopped accepting connections.
      req.write(body.slice(0, 10));
      const close = instance.server.close.bind(instance.server);
      instance.server.close = ((cb?: (err?: Error) => void) => {
        const result = close(cb);
        listeningAtClose = instance.server.listening;
        req.end(body.slice(10));
        return result;
      }) as typeof instance.server.close;
      void arrived.then(() => {
        stopping = instance.stop();
      });
    });

    const res = await response;
    expect(listeningAtClose).toBe(false);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).error.code).toBe('INVALID_CREDENTIALS');
    await stopping;
    expect(instance.server.listening).toBe(false);
    expect(booted.log.lines.filter((l) => l.msg === 'request' && l.status === 401)).toHaveLength(1);
    // The instance's clients are closed; clean up with fresh ones.
    const redis = new Redis(instance.config.redis.url);
    const keys = await redis.keys(`${instance.config.redis.prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await dropDatabase(instance.config.mysql.url);
  });
});

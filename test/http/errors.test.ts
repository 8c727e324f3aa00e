import jwt from 'jsonwebtoken';
import { jwtSecretOf, registerUser, startTestApp, type TestApp } from '../helpers/app';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

type Method = 'post' | 'patch' | 'put';

interface BodyRoute {
  method: Method;
  path: string;
  auth: boolean;
  /** A body that passes validation (never sent to routes with side effects on the token). */
  valid: Record<string, unknown>;
  fields: string[];
}

const ROUTES: BodyRoute[] = [
  {
    method: 'post',
    path: '/api/v1/auth/register',
    auth: false,
    valid: { username: 'hostile_user', password: 'Passw0rd!' },
    fields: ['username', 'password', 'nickname', 'birthDate', 'captchaId', 'captchaCode'],
  },
  {
    method: 'post',
    path: '/api/v1/auth/login',
    auth: false,
    valid: { username: 'hostile_user', password: 'Passw0rd!' },
    fields: ['username', 'password', 'captchaId', 'captchaCode'],
  },
  {
    method: 'patch',
    path: '/api/v1/users/me',
    auth: true,
    valid: {},
    fields: ['nickname', 'avatar', 'birthDate', 'presence'],
  },
  {
    method: 'put',
    path: '/api/v1/users/me/password',
    auth: true,
    valid: { oldPassword: 'Passw0rd!', newPassword: 'N3w-Secret!' },
    fields: ['oldPassword', 'newPassword'],
  },
  { method: 'post', path: '/api/v1/auth/logout', auth: true, valid: {}, fields: [] },
];

const WRONG_TYPES: Array<[string, unknown]> = [
  ['a number', 12345],
  ['a boolean', true],
  ['an array', ['x']],
  ['an object', { $gt: '' }],
  ['a huge string', 'x'.repeat(100_000)],
];

/** A body never carries a stack trace or internals. */
function expectNoInternals(res: { text: string; headers: Record<string, string> }): void {
  // The random request id could spell one of these words by chance, so it is left out of the check.
  const text = res.text.split(res.headers['x-request-id']).join('');
  expect(text).not.toMatch(/\bat .+:\d+:\d+|stack|node_modules|\.ts:\d+|ER_[A-Z_]+|SELECT |mysql/i);
}

function expectEnvelope(res: {
  status: number;
  body: unknown;
  headers: Record<string, string>;
  text: string;
}) {
  const body = res.body as { error: { code: string; message: string; requestId: string } };
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(body.error).toEqual(
    expect.objectContaining({
      code: expect.stringMatching(/^[A-Z_]+$/),
      message: expect.any(String),
      requestId: res.headers['x-request-id'],
    }),
  );
  expectNoInternals(res);
}

needsServers('hostile input and the error envelope', () => {
  let app: TestApp;
  let token: string;
  beforeAll(async () => {
    app = await startTestApp({
      rateLimit: { loginPerMinute: 10000, registerPerMinute: 10000, captchaPerMinute: 10000 },
    });
    token = (await registerUser(app)).token;
  });
  afterAll(async () => {
    await app.close();
  });

  function send(route: BodyRoute, body: unknown, type = 'application/json') {
    let req = app.http[route.method](route.path).set('Content-Type', type);
    if (route.auth) req = req.set('Authorization', `Bearer ${token}`);
    return req.send(body as object);
  }

  describe.each(ROUTES.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))(
    '%s',
    (_name, route) => {
      const cases = route.fields.flatMap((field) =>
        WRONG_TYPES.map(([what, value]) => [field, what, value] as const),
      );
      if (cases.length) {
        it.each(cases)(
          'refuses %s as %s with 400 VALIDATION_FAILED naming it',
          async (field, _what, value) => {
            const res = await send(route, { ...route.valid, [field]: value });
            expect(res.status).toBe(400);
            expectEnvelope(res);
            expect(res.body.error.code).toBe('VALIDATION_FAILED');
            expect(res.body.error.details).toEqual(
              expect.arrayContaining([{ field, message: expect.any(String) }]),
            );
            for (const d of res.body.error.details)
              expect(Object.keys(d).sort()).toEqual(['field', 'message']);
          },
        );
      }

      it('refuses unknown fields with 400 VALIDATION_FAILED listing each', async () => {
        const res = await send(route, { ...route.valid, isAdmin: true, __proto__x: 1 });
        expect(res.status).toBe(400);
        expectEnvelope(res);
        expect(res.body.error.code).toBe('VALIDATION_FAILED');
        expect(res.body.error.details).toEqual(
          expect.arrayContaining([
            { field: 'isAdmin', message: 'unknown field' },
            { field: '__proto__x', message: 'unknown field' },
          ]),
        );
      });

      it.each([
        ['an array', '[1,2]'],
        ['a string', '"hello"'],
        ['a number', '42'],
        ['null', 'null'],
        ['malformed JSON', '{"username": '],
        ['JSON with a trailing comma', '{"a": 1,}'],
      ])('refuses %s as the body with 400 VALIDATION_FAILED', async (_what, raw) => {
        const res = await send(route, raw);
        expect(res.status).toBe(400);
        expectEnvelope(res);
        expect(res.body.error.code).toBe('VALIDATION_FAILED');
      });

      it('refuses a body over the limit with 413 PAYLOAD_TOO_LARGE', async () => {
        const res = await send(route, { ...route.valid, nickname: 'x'.repeat(200_000) });
        expect(res.status).toBe(413);
        expectEnvelope(res);
        expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      });
    },
  );

  it('stores SQL injection strings literally and finds them again', async () => {
    const nickname = 'x\'); DELETE FROM users; -- \\ " `';
    const res = await app.http
      .post('/api/v1/auth/register')
      .send({ username: 'inj.user_1', password: 'Passw0rd!', nickname });
    expect(res.status).toBe(201);
    expect(res.body.user.nickname).toBe(nickname);
    const [rows] = await app.instance.mysql.query('SELECT nickname FROM users WHERE id = ?', [
      res.body.user.id,
    ]);
    expect((rows as Array<{ nickname: string }>)[0].nickname).toBe(nickname);
    const found = await app.http
      .get('/api/v1/users')
      .query({ q: "x'); DELETE" })
      .set('Authorization', `Bearer ${token}`);
    expect(found.status).toBe(200);
    expect(found.body.items.map((u: { id: string }) => u.id)).toEqual([res.body.user.id]);
    const [count] = await app.instance.mysql.query('SELECT COUNT(*) AS n FROM users');
    expect(Number((count as Array<{ n: number }>)[0].n)).toBeGreaterThanOrEqual(2);
  });

  it('lists at most 50 problems for a body of thousands of unknown fields', async () => {
    const body: Record<string, unknown> = { username: 'someone', password: 'Passw0rd!' };
    for (let i = 0; i < 5000; i++) body[`k${i}`] = 1;
    const res = await app.http.post('/api/v1/auth/login').send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details).toHaveLength(50);
  });

  it('refuses deeply nested values as unknown fields', async () => {
    const raw = `{"username":"someone","password":"Passw0rd!","x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const res = await app.http.post('/api/v1/auth/login').set('Content-Type', 'application/json').send(raw);
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ field: 'x', message: 'unknown field' }]);
  });

  it('refuses a huge search query with 400 VALIDATION_FAILED', async () => {
    const res = await app.http
      .get('/api/v1/users')
      .query({ q: 'x'.repeat(5000) })
      .set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('ignores a body that is not JSON, and validates the empty result', async () => {
    const res = await app.http
      .post('/api/v1/auth/login')
      .set('Content-Type', 'text/plain')
      .send('username=a&password=b');
    expect(res.status).toBe(400);
    expectEnvelope(res);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('refuses a body that cannot be decoded with 400 VALIDATION_FAILED', async () => {
    const res = await app.http
      .post('/api/v1/auth/login')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .send('this is not gzip');
    expect(res.status).toBe(400);
    expectEnvelope(res);
    expect(res.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [{ field: 'body', message: expect.any(String) }],
    });
  });

  it('refuses an unsupported charset or encoding with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    for (const [type, encoding] of [
      ['application/json; charset=latin1', 'identity'],
      ['application/json', 'compress'],
    ]) {
      const res = await app.http
        .post('/api/v1/auth/login')
        .set('Content-Type', type)
        .set('Content-Encoding', encoding)
        .send('{}');
      expect(res.status).toBe(415);
      expectEnvelope(res);
      expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('rejects a __proto__ field instead of merging it', async () => {
    const res = await app.http
      .post('/api/v1/auth/login')
      .set('Content-Type', 'application/json')
      .send('{"__proto__":{"isAdmin":true},"username":"a","password":"x"}');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });

  describe('unknown routes', () => {
    it.each([
      ['get', '/api/v1/nope'],
      ['post', '/api/v1/nope'],
      ['delete', '/api/v1/users/me'],
      ['get', '/'],
      ['get', '/api/v1/users/me/extra'],
    ] as const)('%s %s answers a JSON 404 NOT_FOUND', async (method, path) => {
      const res = await app.http[method](path);
      expect(res.status).toBe(404);
      expectEnvelope(res);
      expect(res.body.error.code).toBe('NOT_FOUND');
    });
  });

  describe('authentication', () => {
    const me = (header?: string) => {
      const req = app.http.get('/api/v1/users/me');
      return header === undefined ? req : req.set('Authorization', header);
    };

    it.each([
      ['no Authorization header', undefined],
      ['an empty header', ''],
      ['Bearer without a token', 'Bearer '],
      ['another scheme', 'Basic dXNlcjpwYXNz'],
      ['a garbled token', 'Bearer not.a.jwt'],
      ['random bytes', `Bearer ${'A'.repeat(300)}`],
    ])('answers 401 UNAUTHENTICATED for %s', async (_what, header) => {
      const res = await me(header);
      expect(res.status).toBe(401);
      expectEnvelope(res);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
    });

    it('answers 401 UNAUTHENTICATED for an expired token', async () => {
      const u = await registerUser(app);
      const expired = jwt.sign(
        { sub: u.id, jti: 'expired-jti', exp: Math.floor(Date.now() / 1000) - 60 },
        await jwtSecretOf(app.instance),
        { algorithm: 'HS256' },
      );
      const res = await me(`Bearer ${expired}`);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
    });

    it('answers 401 UNAUTHENTICATED for a token signed with another secret or none', async () => {
      const u = await registerUser(app);
      const claims = { sub: u.id, jti: 'forged-jti' };
      const forged = jwt.sign(claims, 'some-other-secret-of-enough-length!!', { expiresIn: 600 });
      const none = jwt.sign(claims, '', { algorithm: 'none', expiresIn: 600 } as jwt.SignOptions);
      for (const t of [forged, none]) {
        const res = await me(`Bearer ${t}`);
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('UNAUTHENTICATED');
      }
    });

    it('answers 401 UNAUTHENTICATED for a well-signed token without a user id or jti', async () => {
      const secret = await jwtSecretOf(app.instance);
      for (const claims of [{ jti: 'x' }, { sub: 'alice', jti: 'x' }, { sub: '1' }]) {
        const t = jwt.sign(claims, secret, { algorithm: 'HS256', expiresIn: 600 });
        const res = await me(`Bearer ${t}`);
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('UNAUTHENTICATED');
      }
    });
  });

  describe('X-Request-Id', () => {
    it('echoes the id the client sent, also in error.requestId', async () => {
      const res = await app.http.get('/api/v1/nope').set('X-Request-Id', 'client-id-123');
      expect(res.headers['x-request-id']).toBe('client-id-123');
      expect(res.body.error.requestId).toBe('client-id-123');
    });

    it('generates one when the client sends none, equal to error.requestId', async () => {
      const a = await app.http.get('/api/v1/users/me');
      const b = await app.http.get('/api/v1/users/me');
      expect(a.headers['x-request-id']).toMatch(/^[\w-]{8,}$/);
      expect(a.body.error.requestId).toBe(a.headers['x-request-id']);
      expect(b.headers['x-request-id']).not.toBe(a.headers['x-request-id']);
    });

    it('replaces an unsafe client id with a generated one', async () => {
      for (const bad of ['has spaces in it', 'x'.repeat(500), '<script>']) {
        const res = await app.http.get('/healthz').set('X-Request-Id', bad);
        expect(res.headers['x-request-id']).toMatch(/^[\w-]{8,}$/);
        expect(res.headers['x-request-id']).not.toBe(bad);
      }
    });

    it('is sent on successful answers too', async () => {
      const res = await app.http.get('/healthz');
      expect(res.status).toBe(200);
      expect(res.headers['x-request-id']).toEqual(expect.any(String));
    });
  });
});

needsServers('unexpected failures', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers 500 INTERNAL with a generic message and no internals when the database is gone', async () => {
    const u = await registerUser(app);
    await app.instance.mysql.end();
    const res = await app.http.get('/api/v1/users/me').set('Authorization', `Bearer ${u.token}`);
    expect(res.status).toBe(500);
    expectEnvelope(res);
    expect(res.body.error).toEqual({
      code: 'INTERNAL',
      message: 'Internal server error',
      requestId: res.headers['x-request-id'],
    });
  });
});

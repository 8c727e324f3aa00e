import jwt from 'jsonwebtoken';
import type { Config, DeepPartial } from '../../src/config';
import type { UserRecord, UserStatus } from '../../src/modules/accounts/accounts.store';
import { loginRequest, registerUser, startTestApp, type TestApp } from '../helpers/app';
import { describeWith, itDistributed, type Server } from '../helpers/servers';
import { TestClient } from '../helpers/ws-client';

const PASSWORD = 'Passw0rd!';
const PUBLIC_FIELDS = [
  'avatar',
  'birthDate',
  'createdAt',
  'id',
  'nickname',
  'online',
  'presence',
  'username',
];
const PRIVATE_FIELDS = [...PUBLIC_FIELDS, 'role', 'updatedAt'].sort();
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let counter = 0;
/** A username unique across test runs (at most 32 characters). */
function uname(tag = 'u'): string {
  return `${tag}${Date.now().toString(36)}${(++counter).toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
}

function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

/** The user as stored, read through the accounts store port. */
async function userRow(app: TestApp, id: string): Promise<UserRecord | null> {
  return app.instance.engines.stores.accounts.findById(id);
}

/** How many accounts the username (in any letter case) names: the store keeps at most one. */
async function countUsers(app: TestApp, username: string): Promise<number> {
  return (await app.instance.engines.stores.accounts.findByUsername(username)) ? 1 : 0;
}

/** Disables or deletes an account the way an operator would, through the store (the API has no such call). */
async function setStatus(app: TestApp, id: string, status: UserStatus): Promise<void> {
  await app.instance.engines.stores.accounts.setStatus(id, status);
}

/** The short-lived key that holds a captcha's answer (see captcha.service.ts). */
function captchaKey(id: string): string {
  return `captcha:${id}`;
}

/** The stored answer of a captcha, as only the server knows it; null once it is used or gone. */
function captchaAnswer(app: TestApp, id: string): Promise<string | null> {
  return app.instance.engines.shortLived.get(captchaKey(id));
}

/** A fresh captcha and its answer, read from the short-lived keys as only the server knows it. */
async function newCaptcha(app: TestApp): Promise<{ captchaId: string; captchaCode: string }> {
  const res = await app.http.get('/api/v1/captcha');
  expect(res.status).toBe(200);
  const answer = await captchaAnswer(app, res.body.captchaId);
  expect(answer).toEqual(expect.any(String));
  return { captchaId: res.body.captchaId, captchaCode: answer! };
}

function expectError(res: { status: number; body: unknown }, status: number, code: string): void {
  expect({ status: res.status, code: (res.body as { error?: { code?: string } }).error?.code }).toEqual({
    status,
    code,
  });
}

const highLimits = {
  rateLimit: { loginPerMinute: 10000, registerPerMinute: 10000, captchaPerMinute: 10000 },
};

/**
 * Registration, login, sessions, profiles and captchas over HTTP on the instance that `overrides` start (the
 * embedded mode needs no server). The stored state is read through the accounts store and short-lived ports.
 */
export function accountsSuite(name: string, overrides: DeepPartial<Config>, needs: Server[]): void {
  describeWith(...needs)(`accounts with the captcha off (${name})`, () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ ...overrides, ...highLimits });
    });
    afterAll(async () => {
      await app.close();
    });

    const login = (username: string, password = PASSWORD) => loginRequest(app, { username, password });

    describe('POST /api/v1/auth/register', () => {
      it('answers 201 {user, token, expiresAt} with every user field present and null where empty', async () => {
        const username = uname('reg');
        const res = await app.http.post('/api/v1/auth/register').send({ username, password: PASSWORD });
        expect(res.status).toBe(201);
        expect(Object.keys(res.body).sort()).toEqual(['expiresAt', 'token', 'user']);
        expect(Object.keys(res.body.user).sort()).toEqual(PRIVATE_FIELDS);
        expect(res.body.user).toMatchObject({
          id: expect.stringMatching(/^\d+$/),
          username,
          nickname: username,
          avatar: null,
          birthDate: null,
          presence: 'online',
          online: false,
          role: 'user',
          createdAt: expect.stringMatching(ISO_RE),
        });
        expect(res.body.expiresAt).toMatch(ISO_RE);
        const ttlMs = app.instance.config.auth.tokenTtlSeconds * 1000;
        expect(Math.abs(Date.parse(res.body.expiresAt) - (Date.now() + ttlMs))).toBeLessThan(60_000);
        const claims = jwt.decode(res.body.token) as jwt.JwtPayload;
        expect(claims).toMatchObject({ sub: res.body.user.id, jti: expect.any(String) });

        const me = await app.http.get('/api/v1/users/me').set(bearer(res.body.token));
        expect(me.status).toBe(200);
        expect(me.body.id).toBe(res.body.user.id);
      });

      it('stores an scrypt hash with a per-user salt, never the password', async () => {
        const a = await registerUser(app, { password: PASSWORD });
        const b = await registerUser(app, { password: PASSWORD });
        const rowA = await userRow(app, a.id);
        const rowB = await userRow(app, b.id);
        const hashA = rowA!.passwordHash;
        expect(hashA).toMatch(/^scrypt\$\d+\$\d+\$\d+\$[\w-]+\$[\w-]+$/);
        expect(hashA).not.toContain(PASSWORD);
        expect(hashA).not.toBe(rowB!.passwordHash);
      });

      it('keeps nickname and birthDate', async () => {
        const res = await app.http
          .post('/api/v1/auth/register')
          .send({ username: uname(), password: PASSWORD, nickname: '  Zoë 🚀 ', birthDate: '1990-02-28' });
        expect(res.status).toBe(201);
        expect(res.body.user).toMatchObject({ nickname: 'Zoë 🚀', birthDate: '1990-02-28' });
        const row = await userRow(app, res.body.user.id);
        expect(row!.nickname).toBe('Zoë 🚀');
      });

      it('accepts usernames of 3 and 32 characters using letters, digits and _ . -', async () => {
        const short = 'a.b';
        const long = `${uname('L.-_')}`.padEnd(32, 'x');
        for (const username of [short, long]) {
          const res = await app.http.post('/api/v1/auth/register').send({ username, password: PASSWORD });
          expect(res.status).toBe(201);
        }
      });

      it('creates one account when the same username is registered concurrently', async () => {
        const username = uname('race');
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            app.http
              .post('/api/v1/auth/register')
              .send({ username: i % 2 ? username : username.toUpperCase(), password: PASSWORD }),
          ),
        );
        const statuses = results.map((r) => r.status).sort();
        expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
        for (const r of results.filter((x) => x.status === 409))
          expect(r.body.error.code).toBe('USERNAME_TAKEN');
        expect(await countUsers(app, username)).toBe(1);
      });

      it('refuses a taken username with 409 USERNAME_TAKEN, whatever its letter case', async () => {
        const username = uname('Take');
        await registerUser(app, { username });
        for (const again of [username, username.toUpperCase(), username.toLowerCase()]) {
          const res = await app.http
            .post('/api/v1/auth/register')
            .send({ username: again, password: PASSWORD });
          expectError(res, 409, 'USERNAME_TAKEN');
        }
        // One account holds the name in every letter case: the first one, spelled as it registered.
        const stored = await app.instance.engines.stores.accounts.findByUsername(username.toLowerCase());
        expect(stored?.username).toBe(username);
      });

      it.each([
        ['too short', 'Ab1!xyz'],
        ['only lower case and digits', 'abcdefgh123'],
        ['only letters', 'abcdEFGHijk'],
        ['only digits', '1234567890'],
      ])('refuses a weak password (%s) with 400 WEAK_PASSWORD and stores nothing', async (_why, password) => {
        const username = uname('weak');
        const res = await app.http.post('/api/v1/auth/register').send({ username, password });
        expectError(res, 400, 'WEAK_PASSWORD');
        expect(await countUsers(app, username)).toBe(0);
      });

      it('accepts 8 characters from three classes and 128 characters', async () => {
        for (const password of ['abcDEF12', 'aB3!'.repeat(32)]) {
          const res = await app.http.post('/api/v1/auth/register').send({ username: uname(), password });
          expect(res.status).toBe(201);
        }
      });

      it('refuses a password over 128 characters with 400', async () => {
        const res = await app.http
          .post('/api/v1/auth/register')
          .send({ username: uname(), password: 'aB3!'.repeat(32) + 'x' });
        expect(res.status).toBe(400);
        expect(['VALIDATION_FAILED', 'WEAK_PASSWORD']).toContain(res.body.error.code);
      });

      it.each([
        ['too short', 'ab'],
        ['too long', 'a'.repeat(33)],
        ['a space', 'al ice'],
        ['a slash', 'al/ice'],
        ['a non-ASCII letter', 'alicé'],
        ['a quote', "o'hara"],
        ['an at sign', 'alice@example.com'],
        ['empty', ''],
      ])('refuses a username with %s with 400 VALIDATION_FAILED naming username', async (_why, username) => {
        const res = await app.http.post('/api/v1/auth/register').send({ username, password: PASSWORD });
        expectError(res, 400, 'VALIDATION_FAILED');
        expect(res.body.error.details).toEqual(
          expect.arrayContaining([{ field: 'username', message: expect.any(String) }]),
        );
      });

      it.each([
        ['a day that does not exist', '2021-02-29'],
        ['a month that does not exist', '2020-13-01'],
        ['a time', '2020-01-01T00:00:00Z'],
        ['words', 'yesterday'],
        ['before 1900', '1899-12-31'],
        ['the future', '2999-01-01'],
        ['a number', 19900101],
      ])('refuses a birthDate that is %s', async (_why, birthDate) => {
        const res = await app.http
          .post('/api/v1/auth/register')
          .send({ username: uname(), password: PASSWORD, birthDate });
        expectError(res, 400, 'VALIDATION_FAILED');
        expect(res.body.error.details).toEqual([{ field: 'birthDate', message: expect.any(String) }]);
      });

      it('refuses a blank nickname', async () => {
        const res = await app.http
          .post('/api/v1/auth/register')
          .send({ username: uname(), password: PASSWORD, nickname: '   ' });
        expectError(res, 400, 'VALIDATION_FAILED');
        expect(res.body.error.details).toEqual([{ field: 'nickname', message: expect.any(String) }]);
      });

      it('requires username and password', async () => {
        const res = await app.http.post('/api/v1/auth/register').send({});
        expectError(res, 400, 'VALIDATION_FAILED');
        const fields = (res.body.error.details as Array<{ field: string }>).map((d) => d.field).sort();
        expect(fields).toEqual(['password', 'username']);
      });
    });

    describe('POST /api/v1/auth/login', () => {
      it('answers 200 with a session whose token works', async () => {
        const u = await registerUser(app);
        const res = await login(u.username);
        expect(res.status).toBe(200);
        expect(Object.keys(res.body).sort()).toEqual(['expiresAt', 'token', 'user']);
        expect(Object.keys(res.body.user).sort()).toEqual(PRIVATE_FIELDS);
        expect(res.body.user.id).toBe(u.id);
        expect(res.body.token).not.toBe(u.token);
        const me = await app.http.get('/api/v1/users/me').set(bearer(res.body.token));
        expect(me.status).toBe(200);
      });

      it('accepts the username in any letter case', async () => {
        const u = await registerUser(app, { username: uname('Case') });
        const res = await login(u.username.toUpperCase());
        expect(res.status).toBe(200);
        expect(res.body.user.id).toBe(u.id);
      });

      it('answers 401 INVALID_CREDENTIALS for an unknown user, exactly as for a wrong password', async () => {
        const u = await registerUser(app);
        const wrong = await login(u.username, 'Wrong-pass1');
        const unknown = await login(uname('nobody'), 'Wrong-pass1');
        expectError(wrong, 401, 'INVALID_CREDENTIALS');
        expectError(unknown, 401, 'INVALID_CREDENTIALS');
        const strip = (b: { error: Record<string, unknown> }) => ({ ...b.error, requestId: undefined });
        expect(strip(unknown.body)).toEqual(strip(wrong.body));
        expect(Object.keys(unknown.headers).sort()).toEqual(Object.keys(wrong.headers).sort());
      });

      it('answers 403 ACCOUNT_DISABLED for a disabled user with the right password', async () => {
        const u = await registerUser(app);
        await setStatus(app, u.id, 'disabled');
        expectError(await login(u.username), 403, 'ACCOUNT_DISABLED');
        expectError(await login(u.username, 'Wrong-pass1'), 401, 'INVALID_CREDENTIALS');
      });

      it('refuses a deleted user as if the account did not exist', async () => {
        const u = await registerUser(app);
        await setStatus(app, u.id, 'deleted');
        expectError(await login(u.username), 401, 'INVALID_CREDENTIALS');
      });

      it('refuses a username outside the username format with 400, checking no password', async () => {
        await registerUser(app);
        for (const username of ["' OR '1'='1", "admin'--", '%', '_', '%%%', 'a_%']) {
          const res = await login(username, "' OR '1'='1");
          expectError(res, 400, 'VALIDATION_FAILED');
          expect(res.body.error.details).toEqual([{ field: 'username', message: expect.any(String) }]);
        }
      });

      it('refuses a missing password with 400 VALIDATION_FAILED', async () => {
        const res = await app.http.post('/api/v1/auth/login').send({ username: 'someone' });
        expectError(res, 400, 'VALIDATION_FAILED');
        expect(res.body.error.details).toEqual([{ field: 'password', message: expect.any(String) }]);
      });
    });

    describe('POST /api/v1/auth/logout', () => {
      it('answers 204 and refuses the token from then on, leaving other sessions alone', async () => {
        const u = await registerUser(app);
        const other = (await login(u.username)).body.token as string;
        const res = await app.http.post('/api/v1/auth/logout').set(bearer(u.token));
        expect(res.status).toBe(204);
        expect(res.text).toBe('');
        const jti = (jwt.decode(u.token) as jwt.JwtPayload).jti!;
        // The revocation is a short-lived key (see tokens.ts), kept while the token could still be used.
        expect(await app.instance.engines.shortLived.get(`auth:revoked:${jti}`)).not.toBeNull();

        expectError(await app.http.get('/api/v1/users/me').set(bearer(u.token)), 401, 'UNAUTHENTICATED');
        expectError(await app.http.post('/api/v1/auth/logout').set(bearer(u.token)), 401, 'UNAUTHENTICATED');
        expect((await app.http.get('/api/v1/users/me').set(bearer(other))).status).toBe(200);
      });

      it('answers 401 UNAUTHENTICATED without a token', async () => {
        expectError(await app.http.post('/api/v1/auth/logout'), 401, 'UNAUTHENTICATED');
      });
    });

    describe('GET /api/v1/users/me', () => {
      it('answers the caller with private fields and no secret', async () => {
        const u = await registerUser(app, { nickname: 'Me Myself' });
        const res = await app.http.get('/api/v1/users/me').set(bearer(u.token));
        expect(res.status).toBe(200);
        expect(Object.keys(res.body).sort()).toEqual(PRIVATE_FIELDS);
        expect(res.body).toMatchObject({
          id: u.id,
          username: u.username,
          nickname: 'Me Myself',
          role: 'user',
        });
        expect(JSON.stringify(res.body)).not.toMatch(/scrypt|password/i);
      });

      it('refuses every token of a disabled or deleted account on every route', async () => {
        const viewer = await registerUser(app);
        for (const status of ['disabled', 'deleted'] as const) {
          const u = await registerUser(app);
          await setStatus(app, u.id, status);
          for (const path of [`/api/v1/users/${viewer.id}`, '/api/v1/users?q=a']) {
            expectError(await app.http.get(path).set(bearer(u.token)), 401, 'UNAUTHENTICATED');
          }
          expectError(
            await app.http.post('/api/v1/auth/logout').set(bearer(u.token)),
            401,
            'UNAUTHENTICATED',
          );
          await setStatus(app, u.id, 'active');
          expect((await app.http.get('/api/v1/users/me').set(bearer(u.token))).status).toBe(200);
        }
      });

      it('answers 401 once the account is disabled or deleted', async () => {
        for (const status of ['disabled', 'deleted'] as const) {
          const u = await registerUser(app);
          await setStatus(app, u.id, status);
          expectError(await app.http.get('/api/v1/users/me').set(bearer(u.token)), 401, 'UNAUTHENTICATED');
        }
      });
    });

    describe('PATCH /api/v1/users/me', () => {
      let u: Awaited<ReturnType<typeof registerUser>>;
      beforeAll(async () => {
        u = await registerUser(app);
      });
      const patch = (body: unknown) =>
        app.http
          .patch('/api/v1/users/me')
          .set(bearer(u.token))
          .send(body as object);

      it('changes the nickname (trimmed) and stores it', async () => {
        const res = await patch({ nickname: '  New Name ' });
        expect(res.status).toBe(200);
        expect(Object.keys(res.body).sort()).toEqual(PRIVATE_FIELDS);
        expect(res.body.nickname).toBe('New Name');
        expect((await userRow(app, u.id))!.nickname).toBe('New Name');
      });

      it('sets and clears the avatar', async () => {
        const url = 'https://cdn.example.com/a/b.png?x=1';
        let res = await patch({ avatar: url });
        expect(res.status).toBe(200);
        expect(res.body.avatar).toBe(url);
        expect((await userRow(app, u.id))!.avatar).toBe(url);
        res = await patch({ avatar: null });
        expect(res.status).toBe(200);
        expect(res.body.avatar).toBeNull();
        expect((await userRow(app, u.id))!.avatar).toBeNull();
      });

      it.each([
        ['javascript:', 'javascript:alert(1)'],
        ['data:', 'data:text/html,<script>alert(1)</script>'],
        ['ftp:', 'ftp://example.com/a.png'],
        ['no scheme', 'example.com/a.png'],
        ['over 1024 characters', `https://example.com/${'a'.repeat(1010)}`],
        ['empty', ''],
      ])('refuses an avatar with %s', async (_why, avatar) => {
        const res = await patch({ avatar });
        expectError(res, 400, 'VALIDATION_FAILED');
        expect(res.body.error.details).toEqual([{ field: 'avatar', message: expect.any(String) }]);
      });

      it('sets and clears the birthDate', async () => {
        let res = await patch({ birthDate: '2000-02-29' });
        expect(res.status).toBe(200);
        expect(res.body.birthDate).toBe('2000-02-29');
        expect((await userRow(app, u.id))!.birthDate).toBe('2000-02-29');
        res = await patch({ birthDate: null });
        expect(res.body.birthDate).toBeNull();
      });

      it.each(['2001-02-29', '2000-00-10', '2000-1-1', '01/02/2000', 'not a date', '2999-12-31'])(
        'refuses the birthDate %s',
        async (birthDate) => {
          const res = await patch({ birthDate });
          expectError(res, 400, 'VALIDATION_FAILED');
          expect(res.body.error.details).toEqual([{ field: 'birthDate', message: expect.any(String) }]);
        },
      );

      it.each(['online', 'away', 'busy', 'invisible'])('sets presence %s', async (presence) => {
        const res = await patch({ presence });
        expect(res.status).toBe(200);
        expect(res.body.presence).toBe(presence);
        expect((await userRow(app, u.id))!.presence).toBe(presence);
      });

      it.each([['offline'], ['ONLINE'], [''], [null], [1], [['online']], [{ v: 'online' }]])(
        'refuses presence %j',
        async (presence) => {
          const res = await patch({ presence });
          expectError(res, 400, 'VALIDATION_FAILED');
          expect(res.body.error.details).toEqual([{ field: 'presence', message: expect.any(String) }]);
        },
      );

      it('changes nothing for an empty body', async () => {
        const before = (await app.http.get('/api/v1/users/me').set(bearer(u.token))).body;
        const res = await patch({});
        expect(res.status).toBe(200);
        expect({ ...res.body, updatedAt: null }).toEqual({ ...before, updatedAt: null });
      });

      it('refuses unknown fields, even ones that exist in storage', async () => {
        for (const body of [{ role: 'admin' }, { username: 'hijack' }, { status: 'active' }, { id: '1' }]) {
          const res = await patch(body);
          expectError(res, 400, 'VALIDATION_FAILED');
          expect(res.body.error.details).toEqual([{ field: Object.keys(body)[0], message: 'unknown field' }]);
        }
        expect((await userRow(app, u.id))!.role).toBe('user');
      });

      it('stores and returns SQL-looking text literally', async () => {
        const nickname = "Robert'); DROP TABLE users;--";
        const res = await patch({ nickname });
        expect(res.status).toBe(200);
        expect(res.body.nickname).toBe(nickname);
        expect((await userRow(app, u.id))!.nickname).toBe(nickname);
      });
    });

    describe('PUT /api/v1/users/me/password', () => {
      it('answers 204, revokes the other sessions and keeps the current one', async () => {
        const u = await registerUser(app);
        const other = (await login(u.username)).body.token as string;
        const hashBefore = (await userRow(app, u.id))!.passwordHash;
        const res = await app.http
          .put('/api/v1/users/me/password')
          .set(bearer(u.token))
          .send({ oldPassword: PASSWORD, newPassword: 'N3w-Secret!' });
        expect(res.status).toBe(204);
        expect((await userRow(app, u.id))!.passwordHash).not.toBe(hashBefore);

        expect((await app.http.get('/api/v1/users/me').set(bearer(u.token))).status).toBe(200);
        expectError(await app.http.get('/api/v1/users/me').set(bearer(other)), 401, 'UNAUTHENTICATED');
        expectError(await login(u.username), 401, 'INVALID_CREDENTIALS');
        const fresh = await login(u.username, 'N3w-Secret!');
        expect(fresh.status).toBe(200);
        expect((await app.http.get('/api/v1/users/me').set(bearer(fresh.body.token))).status).toBe(200);
      });

      it('refuses a wrong old password with 403 INVALID_CREDENTIALS and changes nothing', async () => {
        const u = await registerUser(app);
        const other = (await login(u.username)).body.token as string;
        const res = await app.http
          .put('/api/v1/users/me/password')
          .set(bearer(u.token))
          .send({ oldPassword: 'Not-the-one1', newPassword: 'N3w-Secret!' });
        expectError(res, 403, 'INVALID_CREDENTIALS');
        expect((await app.http.get('/api/v1/users/me').set(bearer(other))).status).toBe(200);
        expect((await login(u.username)).status).toBe(200);
      });

      it('refuses a weak new password with 400 WEAK_PASSWORD', async () => {
        const u = await registerUser(app);
        const res = await app.http
          .put('/api/v1/users/me/password')
          .set(bearer(u.token))
          .send({ oldPassword: PASSWORD, newPassword: 'password' });
        expectError(res, 400, 'WEAK_PASSWORD');
        expect((await login(u.username)).status).toBe(200);
      });

      it('requires both fields', async () => {
        const u = await registerUser(app);
        const res = await app.http.put('/api/v1/users/me/password').set(bearer(u.token)).send({});
        expectError(res, 400, 'VALIDATION_FAILED');
        const fields = (res.body.error.details as Array<{ field: string }>).map((d) => d.field).sort();
        expect(fields).toEqual(['newPassword', 'oldPassword']);
      });

      it('answers 401 without a token', async () => {
        const res = await app.http
          .put('/api/v1/users/me/password')
          .send({ oldPassword: PASSWORD, newPassword: 'N3w-Secret!' });
        expectError(res, 401, 'UNAUTHENTICATED');
      });
    });

    describe('GET /api/v1/users/:userId', () => {
      it('answers the public profile without private fields', async () => {
        const viewer = await registerUser(app);
        const target = await registerUser(app, { nickname: 'Target' });
        const res = await app.http.get(`/api/v1/users/${target.id}`).set(bearer(viewer.token));
        expect(res.status).toBe(200);
        expect(Object.keys(res.body).sort()).toEqual(PUBLIC_FIELDS);
        expect(res.body).toMatchObject({
          id: target.id,
          username: target.username,
          nickname: 'Target',
          avatar: null,
          birthDate: null,
          presence: 'offline',
          online: false,
        });
      });

      it('shows an invisible user as offline to others, but as invisible to themself', async () => {
        const viewer = await registerUser(app);
        const busy = await registerUser(app);
        const hidden = await registerUser(app);
        await app.http.patch('/api/v1/users/me').set(bearer(busy.token)).send({ presence: 'busy' });
        await app.http.patch('/api/v1/users/me').set(bearer(hidden.token)).send({ presence: 'invisible' });
        // Both have a live connection, so the gateway reports them online.
        const sockets = [await TestClient.open(app, busy.token), await TestClient.open(app, hidden.token)];
        try {
          const seenBusy = await app.http.get(`/api/v1/users/${busy.id}`).set(bearer(viewer.token));
          expect(seenBusy.body).toMatchObject({ presence: 'busy', online: true });
          const seenHidden = await app.http.get(`/api/v1/users/${hidden.id}`).set(bearer(viewer.token));
          expect(seenHidden.body).toMatchObject({ presence: 'offline', online: false });
          const search = await app.http
            .get('/api/v1/users')
            .query({ q: hidden.id })
            .set(bearer(viewer.token));
          expect(search.body.items[0]).toMatchObject({ id: hidden.id, presence: 'offline', online: false });
          const self = await app.http.get('/api/v1/users/me').set(bearer(hidden.token));
          expect(self.body).toMatchObject({ presence: 'invisible' });
        } finally {
          for (const socket of sockets) await socket.close();
        }
      });

      it('answers 404 USER_NOT_FOUND for unknown, disabled and deleted users', async () => {
        const viewer = await registerUser(app);
        const disabled = await registerUser(app);
        const deleted = await registerUser(app);
        await setStatus(app, disabled.id, 'disabled');
        await setStatus(app, deleted.id, 'deleted');
        for (const id of ['999999999999', disabled.id, deleted.id]) {
          expectError(
            await app.http.get(`/api/v1/users/${id}`).set(bearer(viewer.token)),
            404,
            'USER_NOT_FOUND',
          );
        }
      });

      it.each(['abc', '0', '-1', '1.5', '12345678901234567890', "1' OR '1'='1", '1 OR 1=1'])(
        'refuses the id %s with 400 VALIDATION_FAILED',
        async (id) => {
          const viewer = await registerUser(app);
          const res = await app.http.get(`/api/v1/users/${encodeURIComponent(id)}`).set(bearer(viewer.token));
          expectError(res, 400, 'VALIDATION_FAILED');
          expect(res.body.error.details).toEqual([{ field: 'userId', message: expect.any(String) }]);
        },
      );

      it('answers 401 without a token', async () => {
        expectError(await app.http.get('/api/v1/users/1'), 401, 'UNAUTHENTICATED');
      });
    });

    describe('GET /api/v1/users', () => {
      let viewer: Awaited<ReturnType<typeof registerUser>>;
      beforeAll(async () => {
        viewer = await registerUser(app);
      });
      const search = (query: Record<string, string | number>) =>
        app.http.get('/api/v1/users').query(query).set(bearer(viewer.token));

      it('finds a user by id', async () => {
        const target = await registerUser(app, { nickname: 'Findable' });
        const res = await search({ q: target.id });
        expect(res.status).toBe(200);
        expect(Object.keys(res.body).sort()).toEqual(['items', 'nextCursor']);
        expect(res.body.items.map((i: { id: string }) => i.id)).toContain(target.id);
        const item = res.body.items.find((i: { id: string }) => i.id === target.id);
        expect(Object.keys(item).sort()).toEqual(PUBLIC_FIELDS);
      });

      it('finds users by nickname prefix, ignoring case, and pages with the cursor', async () => {
        const tag = uname('N');
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push((await registerUser(app, { nickname: `${tag} ${i}` })).id);
        await registerUser(app, { nickname: `x${tag}` });

        const seen: string[] = [];
        let cursor: string | null = null;
        const sizes: number[] = [];
        do {
          const q: Record<string, string | number> = { q: tag.toLowerCase(), limit: 2 };
          if (cursor) q.cursor = cursor;
          const res = await search(q);
          expect(res.status).toBe(200);
          sizes.push(res.body.items.length);
          seen.push(...res.body.items.map((i: { id: string }) => i.id));
          cursor = res.body.nextCursor;
        } while (cursor);
        expect(sizes).toEqual([2, 2, 1]);
        expect(seen).toEqual(ids);
      });

      it('pages through many users with the same nickname without repeating or losing one', async () => {
        const tag = uname('S');
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push((await registerUser(app, { nickname: tag })).id);
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const q: Record<string, string | number> = { q: tag, limit: 2 };
          if (cursor) q.cursor = cursor;
          const res = await search(q);
          seen.push(...res.body.items.map((i: { id: string }) => i.id));
          cursor = res.body.nextCursor;
        } while (cursor);
        expect(seen).toEqual(ids);
      });

      it('orders nickname matches by nickname', async () => {
        const tag = uname('O');
        const c = await registerUser(app, { nickname: `${tag}c` });
        const a = await registerUser(app, { nickname: `${tag}a` });
        const b = await registerUser(app, { nickname: `${tag}B` });
        const res = await search({ q: tag });
        expect(res.body.items.map((i: { id: string }) => i.id)).toEqual([a.id, b.id, c.id]);
      });

      it('lists the user with that id first, then nickname matches, paging across both', async () => {
        const target = await registerUser(app, { nickname: 'not-a-number' });
        const prefixed: string[] = [];
        for (let i = 0; i < 2; i++)
          prefixed.push((await registerUser(app, { nickname: `${target.id}-${i}` })).id);
        const first = await search({ q: target.id, limit: 1 });
        expect(first.body.items.map((i: { id: string }) => i.id)).toEqual([target.id]);
        expect(first.body.nextCursor).toEqual(expect.any(String));
        const rest = await search({ q: target.id, limit: 10, cursor: first.body.nextCursor });
        const restIds = rest.body.items.map((i: { id: string }) => i.id);
        expect(restIds).toEqual(expect.arrayContaining(prefixed));
        expect(restIds).not.toContain(target.id);
      });

      it('refuses a forged cursor with 400 VALIDATION_FAILED', async () => {
        for (const cursor of [
          Buffer.from('{"x":1}').toString('base64url'),
          Buffer.from('["a", "1 OR 1=1"]').toString('base64url'),
          Buffer.from('["a", 5]').toString('base64url'),
          'bm90IGpzb24',
        ]) {
          const res = await search({ q: 'a', cursor });
          expectError(res, 400, 'VALIDATION_FAILED');
          expect(res.body.error.details).toEqual([{ field: 'cursor', message: expect.any(String) }]);
        }
      });

      it('never lists disabled or deleted users', async () => {
        const tag = uname('H');
        const active = await registerUser(app, { nickname: `${tag}a` });
        const disabled = await registerUser(app, { nickname: `${tag}b` });
        const deleted = await registerUser(app, { nickname: `${tag}c` });
        await setStatus(app, disabled.id, 'disabled');
        await setStatus(app, deleted.id, 'deleted');
        const res = await search({ q: tag });
        expect(res.body.items.map((i: { id: string }) => i.id)).toEqual([active.id]);
        for (const id of [disabled.id, deleted.id]) expect((await search({ q: id })).body.items).toEqual([]);
      });

      it('matches % and _ literally', async () => {
        const tag = uname('W');
        const percent = await registerUser(app, { nickname: `${tag}%x` });
        const underscore = await registerUser(app, { nickname: `${tag}_x` });
        await registerUser(app, { nickname: `${tag}yx` });
        const ids = async (q: string) =>
          (await search({ q })).body.items.map((i: { id: string }) => i.id) as string[];
        expect(await ids(`${tag}%`)).toEqual([percent.id]);
        expect(await ids(`${tag}_`)).toEqual([underscore.id]);
        expect(await ids('%')).toEqual([]);
        expect(await ids("' OR 1=1 --")).toEqual([]);
      });

      it.each([
        ['no q', {}],
        ['an empty q', { q: '' }],
        ['a blank q', { q: '   ' }],
        ['a q over 64 characters', { q: 'a'.repeat(65) }],
        ['a limit of 0', { q: 'a', limit: 0 }],
        ['a limit over 100', { q: 'a', limit: 101 }],
        ['a limit that is not a number', { q: 'a', limit: 'ten' }],
        ['a cursor that is not one', { q: 'a', cursor: "1' OR 1=1" }],
      ])('refuses %s with 400 VALIDATION_FAILED', async (_why, query) => {
        const res = await search(query as Record<string, string>);
        expectError(res, 400, 'VALIDATION_FAILED');
      });

      it('refuses repeated query parameters', async () => {
        for (const qs of ['q=a&q=b', 'q=a&limit=1&limit=2', 'q=a&cursor=1&cursor=2']) {
          const res = await app.http.get(`/api/v1/users?${qs}`).set(bearer(viewer.token));
          expectError(res, 400, 'VALIDATION_FAILED');
        }
      });

      it('answers 401 without a token', async () => {
        expectError(await app.http.get('/api/v1/users?q=a'), 401, 'UNAUTHENTICATED');
      });
    });
  });

  describeWith(...needs)(`accounts with the captcha on (${name})`, () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({
        ...overrides,
        ...highLimits,
        captcha: { enabled: true, ttlSeconds: 90 },
        server: { trustProxy: 1 },
      });
    });
    afterAll(async () => {
      await app.close();
    });

    async function register(username: string, captcha?: { captchaId?: string; captchaCode?: string }) {
      return app.http
        .post('/api/v1/auth/register')
        .send({ username, password: PASSWORD, ...(captcha ?? (await newCaptcha(app))) });
    }

    describe('GET /api/v1/captcha', () => {
      it('answers an SVG and an id, and keeps the answer as the short-lived key captcha:<id>', async () => {
        const res = await app.http.get('/api/v1/captcha');
        expect(res.status).toBe(200);
        expect(Object.keys(res.body).sort()).toEqual(['captchaId', 'svg']);
        expect(res.body.svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(await captchaAnswer(app, res.body.captchaId)).toMatch(/^[a-z0-9]{4}$/);
        expect(res.body.svg).not.toMatch(/<text/i);
      });

      // The short-lived port cannot tell a key's TTL; only Redis can, so this check runs on the servers only.
      itDistributed(needs)('keeps the answer in Redis under <prefix>captcha:<id> with the TTL', async () => {
        const res = await app.http.get('/api/v1/captcha');
        expect(res.status).toBe(200);
        const key = `${app.instance.config.redis.prefix}captcha:${res.body.captchaId}`;
        expect(await app.instance.redis.command.get(key)).toMatch(/^[a-z0-9]{4}$/);
        const ttl = await app.instance.redis.command.ttl(key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(90);
      });

      it('gives a different id each time', async () => {
        const a = await app.http.get('/api/v1/captcha');
        const b = await app.http.get('/api/v1/captcha');
        expect(a.body.captchaId).not.toBe(b.body.captchaId);
      });
    });

    describe('POST /api/v1/auth/register with the captcha on', () => {
      it('accepts the right answer once, then the key is gone', async () => {
        const captcha = await newCaptcha(app);
        const res = await register(uname(), captcha);
        expect(res.status).toBe(201);
        expect(await captchaAnswer(app, captcha.captchaId)).toBeNull();
        const username = uname();
        expectError(await register(username, captcha), 400, 'CAPTCHA_INVALID');
        expect(await countUsers(app, username)).toBe(0);
      });

      it('compares the answer ignoring case', async () => {
        const captcha = await newCaptcha(app);
        const res = await register(uname(), { ...captcha, captchaCode: captcha.captchaCode.toUpperCase() });
        expect(res.status).toBe(201);
      });

      it('refuses a wrong answer with 400 CAPTCHA_INVALID and burns the captcha', async () => {
        const captcha = await newCaptcha(app);
        const username = uname();
        expectError(await register(username, { ...captcha, captchaCode: 'zzzzz' }), 400, 'CAPTCHA_INVALID');
        expect(await captchaAnswer(app, captcha.captchaId)).toBeNull();
        expectError(await register(username, captcha), 400, 'CAPTCHA_INVALID');
        expect(await countUsers(app, username)).toBe(0);
      });

      it('refuses a missing, unknown or expired captcha with 400 CAPTCHA_INVALID', async () => {
        const expired = await newCaptcha(app);
        await app.instance.engines.shortLived.del(captchaKey(expired.captchaId));
        for (const captcha of [{}, { captchaId: 'nope', captchaCode: 'abcd' }, expired]) {
          const username = uname();
          expectError(await register(username, captcha), 400, 'CAPTCHA_INVALID');
          expect(await countUsers(app, username)).toBe(0);
        }
      });

      it('answers USERNAME_TAKEN only after a right captcha', async () => {
        const username = uname();
        expect((await register(username)).status).toBe(201);
        expectError(await register(username, { captchaId: 'x', captchaCode: 'y' }), 400, 'CAPTCHA_INVALID');
        expectError(await register(username.toUpperCase()), 409, 'USERNAME_TAKEN');
      });
    });

    describe('POST /api/v1/auth/login with the captcha on', () => {
      const login = (body: Record<string, string>, ip = '203.0.113.7') => loginRequest(app, body, ip);

      it('requires the captcha after 3 failures for that username from that address, and only there', async () => {
        const victim = uname('v');
        const bystander = uname('b');
        expect((await register(victim)).status).toBe(201);
        expect((await register(bystander)).status).toBe(201);
        for (let i = 0; i < 3; i++) {
          expectError(await login({ username: victim, password: 'Wrong-pass1' }), 401, 'INVALID_CREDENTIALS');
        }
        expectError(await login({ username: victim, password: PASSWORD }), 400, 'CAPTCHA_REQUIRED');
        expectError(
          await login({ username: victim.toUpperCase(), password: PASSWORD }),
          400,
          'CAPTCHA_REQUIRED',
        );
        expect((await login({ username: bystander, password: PASSWORD })).status).toBe(200);
        expect((await login({ username: victim, password: PASSWORD }, '198.51.100.9')).status).toBe(200);

        const wrongCaptcha = { ...(await newCaptcha(app)), captchaCode: 'zzzzz' };
        expectError(
          await login({ username: victim, password: PASSWORD, ...wrongCaptcha }),
          400,
          'CAPTCHA_INVALID',
        );

        const captcha = await newCaptcha(app);
        const ok = await login({ username: victim, password: PASSWORD, ...captcha });
        expect(ok.status).toBe(200);
        expect(await captchaAnswer(app, captcha.captchaId)).toBeNull();
        // A success clears the failures, so the next login needs no captcha.
        expect((await login({ username: victim, password: PASSWORD })).status).toBe(200);
      });

      it('never locks the account: with a captcha the right password keeps working', async () => {
        const username = uname('l');
        expect((await register(username)).status).toBe(201);
        for (let i = 0; i < 6; i++) {
          const captcha = i >= 3 ? await newCaptcha(app) : {};
          expectError(
            await login({ username, password: 'Wrong-pass1', ...captcha }),
            401,
            'INVALID_CREDENTIALS',
          );
        }
        expect((await login({ username, password: PASSWORD, ...(await newCaptcha(app)) })).status).toBe(200);
      });

      it('counts every spelling that finds the account as one username', async () => {
        const username = uname('s');
        expect((await register(username)).status).toBe(201);
        const spellings = [username, username.toUpperCase(), username[0].toUpperCase() + username.slice(1)];
        for (const spelling of spellings) {
          expectError(
            await login({ username: spelling, password: 'Wrong-pass1' }),
            401,
            'INVALID_CREDENTIALS',
          );
        }
        for (const spelling of spellings) {
          expectError(await login({ username: spelling, password: PASSWORD }), 400, 'CAPTCHA_REQUIRED');
        }
        // The database's collation would find the account under these too (trailing space, accents, other
        // letter forms): they are not usernames at all, so they neither sign in nor get fresh tries.
        const respelt = [
          `${username} `,
          `${username}\t`,
          username.replace('s', 'ś'),
          username.replace('s', 'ſ'),
        ];
        for (const spelling of respelt) {
          for (const password of [PASSWORD, 'Wrong-pass1']) {
            expectError(await login({ username: spelling, password }), 400, 'VALIDATION_FAILED');
          }
        }
        expectError(await login({ username, password: PASSWORD }), 400, 'CAPTCHA_REQUIRED');
      });

      it('answers a respelt unknown username exactly like a respelt known one', async () => {
        const known = uname('k');
        expect((await register(known)).status).toBe(201);
        const ghost = uname('g');
        const a = await login({ username: `${known} `, password: 'Wrong-pass1' });
        const b = await login({ username: `${ghost} `, password: 'Wrong-pass1' });
        const strip = (body: { error: Record<string, unknown> }) => ({ ...body.error, requestId: undefined });
        expect({ status: a.status, body: strip(a.body) }).toEqual({ status: b.status, body: strip(b.body) });
      });

      it('requires the captcha for an unknown username too, so it does not tell which names exist', async () => {
        const username = uname('ghost');
        for (let i = 0; i < 3; i++) await login({ username, password: 'Wrong-pass1' });
        expectError(await login({ username, password: 'Wrong-pass1' }), 400, 'CAPTCHA_REQUIRED');
      });
    });
  });

  describeWith(...needs)(`accounts rate limits (${name})`, () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({
        ...overrides,
        rateLimit: { loginPerMinute: 3, registerPerMinute: 30, captchaPerMinute: 2 },
        captcha: { enabled: false },
      });
    });
    afterAll(async () => {
      await app.close();
    });

    it('answers 429 RATE_LIMITED with Retry-After once the per-address login limit is passed', async () => {
      const u = await registerUser(app);
      for (let i = 0; i < 3; i++) {
        const res = await app.http
          .post('/api/v1/auth/login')
          .send({ username: u.username, password: 'Wrong-pass1' });
        expect(res.status).toBe(401);
      }
      for (const password of ['Wrong-pass1', PASSWORD]) {
        const res = await app.http.post('/api/v1/auth/login').send({ username: u.username, password });
        expectError(res, 429, 'RATE_LIMITED');
        const retry = Number(res.headers['retry-after']);
        expect(Number.isInteger(retry)).toBe(true);
        expect(retry).toBeGreaterThanOrEqual(1);
        expect(retry).toBeLessThanOrEqual(60);
      }
    });

    // The limiter port tells no key names; only Redis shows where the counts live, so this runs on the servers.
    itDistributed(needs)('keeps the login counts in Redis under <prefix>rl:login', async () => {
      const keys = await app.instance.redis.command.keys(`${app.instance.config.redis.prefix}rl:login*`);
      expect(keys.length).toBeGreaterThan(0);
    });

    it('limits password change attempts per user like logins', async () => {
      const u = await registerUser(app);
      const attempt = () =>
        app.http
          .put('/api/v1/users/me/password')
          .set(bearer(u.token))
          .send({ oldPassword: 'Wrong-pass1', newPassword: 'N3w-Secret!' });
      for (let i = 0; i < 3; i++) expectError(await attempt(), 403, 'INVALID_CREDENTIALS');
      const res = await attempt();
      expectError(res, 429, 'RATE_LIMITED');
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    });

    it('answers 429 RATE_LIMITED with Retry-After once the captcha limit is passed', async () => {
      for (let i = 0; i < 2; i++) expect((await app.http.get('/api/v1/captcha')).status).toBe(200);
      const res = await app.http.get('/api/v1/captcha');
      expectError(res, 429, 'RATE_LIMITED');
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    });

    it('allows 30 registrations a minute from one address, then answers 429', async () => {
      // The two earlier tests of this block registered one user each.
      for (let i = 0; i < 28; i++) await registerUser(app);
      const res = await app.http
        .post('/api/v1/auth/register')
        .send({ username: uname(), password: PASSWORD });
      expectError(res, 429, 'RATE_LIMITED');
    });
  });
}

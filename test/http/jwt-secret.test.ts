import jwt from 'jsonwebtoken';
import request from 'supertest';
import { isolation, registerUser, startTestApp, testConfig } from '../helpers/app';
import { cleanupIsolation } from '../helpers/processes';
import { sharedSecret } from '../../src/infra/mysql';
import { createLogger } from '../../src/shared/logger';
import { startInstance, type Instance } from '../../src/server';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

/** The rows of `server_secrets`. */
async function storedSecrets(instance: Instance): Promise<Array<{ name: string; value: string }>> {
  const [rows] = await instance.mysql.query('SELECT name, value FROM server_secrets ORDER BY name');
  return rows as Array<{ name: string; value: string }>;
}

needsServers('the secret that signs access tokens', () => {
  it('is made at first start when JWT_SECRET is unset, kept in the database and used by every instance', async () => {
    const first = await startTestApp();
    try {
      const stored = await storedSecrets(first.instance);
      expect(stored).toEqual([{ name: 'jwt', value: expect.stringMatching(/^[A-Za-z0-9_-]{64}$/) }]);
      const u = await registerUser(first);
      expect(jwt.verify(u.token, stored[0].value, { algorithms: ['HS256'] })).toMatchObject({ sub: u.id });
      expect(() => jwt.verify(u.token, 'dev-secret-change-me', { algorithms: ['HS256'] })).toThrow();

      const second = await startTestApp({}, { shareWith: first });
      try {
        const me = await second.http.get('/api/v1/users/me').set('Authorization', `Bearer ${u.token}`);
        expect(me.status).toBe(200);
        expect(me.body.id).toBe(u.id);
        expect(await storedSecrets(second.instance)).toEqual(stored);
      } finally {
        await second.close();
      }
    } finally {
      await first.close();
    }
  });

  it('is one secret for instances that start at once on a fresh database', async () => {
    const config = testConfig({}, isolation());
    const started = await Promise.allSettled(
      [1, 2, 3].map(() => startInstance(config, createLogger({ level: 'silent' }))),
    );
    const instances = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    try {
      expect(started.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
      expect(await storedSecrets(instances[0])).toHaveLength(1);
      const u = await registerUser({ http: request(instances[0].url) });
      for (const other of instances.slice(1)) {
        const me = await request(other.url).get('/api/v1/users/me').set('Authorization', `Bearer ${u.token}`);
        expect(me.status).toBe(200);
      }
    } finally {
      await Promise.all(instances.map((i) => i.stop()));
      await cleanupIsolation(config);
    }
  });

  it('keeps the first value stored when many offer one at the same moment', async () => {
    const app = await startTestApp();
    try {
      const values = await Promise.all(
        Array.from({ length: 20 }, (_, i) => sharedSecret(app.instance.mysql, 'race', () => `value-${i}`)),
      );
      expect(new Set(values).size).toBe(1);
      const rows = (await storedSecrets(app.instance)).filter((r) => r.name === 'race');
      expect(rows).toEqual([{ name: 'race', value: values[0] }]);
    } finally {
      await app.close();
    }
  });

  it('is the configured JWT_SECRET when one is set, whatever the database holds', async () => {
    const first = await startTestApp();
    try {
      const configuredSecret = 'a-configured-secret-of-at-least-32-chars';
      const configured = await startTestApp({ auth: { jwtSecret: configuredSecret } }, { shareWith: first });
      try {
        const u = await registerUser(configured);
        expect(jwt.verify(u.token, configuredSecret, { algorithms: ['HS256'] })).toMatchObject({ sub: u.id });
        const fromFirst = await first.http
          .post('/api/v1/auth/login')
          .send({ username: u.username, password: u.password });
        expect(fromFirst.status).toBe(200);
        const refused = await configured.http
          .get('/api/v1/users/me')
          .set('Authorization', `Bearer ${fromFirst.body.token}`);
        expect(refused.status).toBe(401);
        expect(refused.body.error.code).toBe('UNAUTHENTICATED');
      } finally {
        await configured.close();
      }
    } finally {
      await first.close();
    }
  });
});

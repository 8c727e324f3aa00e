import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { schema } from '../../src/config/schema';

/** Both URLs: the distributed mode, where every setting may take any valid value. */
const DISTRIBUTED = { MYSQL_URL: 'mysql://root@127.0.0.1:3306/jim', REDIS_URL: 'redis://127.0.0.1:6379/0' };

/** Loads the config with only these environment variables set. */
const load = (env: Record<string, string>) => loadConfig({ env });

/** The error loadConfig throws for this environment. */
function errorFor(env: Record<string, string>): ConfigError {
  try {
    load(env);
  } catch (err) {
    return err as ConfigError;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

/** Every [path, env] pair of the schema. */
function envKeys(node: Record<string, unknown> = schema, prefix = ''): Array<[string, string]> {
  if (typeof node.env === 'string' && 'default' in node) return [[prefix, node.env]];
  return Object.entries(node).flatMap(([k, v]) =>
    v && typeof v === 'object' ? envKeys(v as Record<string, unknown>, prefix ? `${prefix}.${k}` : k) : [],
  );
}

describe('loadConfig', () => {
  it('uses the defaults of config/default.yaml when nothing is set', () => {
    const c = load({});
    expect(c).toMatchObject({
      env: 'development',
      mode: 'embedded',
      dataDir: './data',
      server: { port: 3000, workers: 0 },
      mysql: { url: '' },
      redis: { url: '', prefix: 'jim:' },
      mongodb: { uri: '' },
      captcha: { enabled: true, ttlSeconds: 120 },
      log: { level: 'info' },
    });
  });

  it('reads the contract variable names', () => {
    const c = load({
      PORT: '8080',
      MYSQL_URL: 'mysql://app:pw@db.internal:3307/jim_prod',
      REDIS_URL: 'rediss://cache.internal:6380/2',
      REDIS_PREFIX: 'jim-eu:',
      MONGODB_URI: 'mongodb://mongo.internal:27017/jim',
      JWT_SECRET: 'a-secret-that-is-long-enough-for-prod',
      CAPTCHA_ENABLED: 'false',
      LOG_LEVEL: 'debug',
      NODE_ENV: 'test',
    });
    expect(c).toMatchObject({
      env: 'test',
      server: { port: 8080 },
      mysql: { url: 'mysql://app:pw@db.internal:3307/jim_prod' },
      redis: { url: 'rediss://cache.internal:6380/2', prefix: 'jim-eu:' },
      mongodb: { uri: 'mongodb://mongo.internal:27017/jim' },
      auth: { jwtSecret: 'a-secret-that-is-long-enough-for-prod' },
      captcha: { enabled: false },
      log: { level: 'debug' },
    });
  });

  it.each([
    ['a count', 'SERVER_WORKERS', '4', (c: ReturnType<typeof load>) => c.server.workers, 4],
    [
      'a positive number',
      'JWT_TTL_SECONDS',
      '3600',
      (c: ReturnType<typeof load>) => c.auth.tokenTtlSeconds,
      3600,
    ],
    ['a string', 'BODY_LIMIT', '1mb', (c: ReturnType<typeof load>) => c.server.bodyLimit, '1mb'],
    ['a flag (yes)', 'WORLD_ENABLED', 'yes', (c: ReturnType<typeof load>) => c.world.enabled, true],
    ['a flag (0)', 'CAPTCHA_ENABLED', '0', (c: ReturnType<typeof load>) => c.captcha.enabled, false],
    ['a flag (TRUE)', 'CAPTCHA_ENABLED', 'TRUE', (c: ReturnType<typeof load>) => c.captcha.enabled, true],
    ['an enum', 'NODE_ENV', 'test', (c: ReturnType<typeof load>) => c.env, 'test'],
    ['a log level', 'LOG_LEVEL', 'warn', (c: ReturnType<typeof load>) => c.log.level, 'warn'],
    ['a port', 'PORT', '0', (c: ReturnType<typeof load>) => c.server.port, 0],
  ])('overrides %s from the environment (%s)', (_kind, name, value, read, expected) => {
    expect(read(load({ ...DISTRIBUTED, [name]: value }))).toEqual(expected);
  });

  it('gives every key an environment variable, each name used once', () => {
    const pairs = envKeys();
    expect(pairs.length).toBeGreaterThan(20);
    const names = pairs.map(([, env]) => env);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[A-Z][A-Z0-9_]*$/);
  });

  it('is documented key by key in docs/configuration.md', () => {
    const doc = fs.readFileSync(path.resolve(__dirname, '../../docs/configuration.md'), 'utf8');
    for (const [key, env] of envKeys()) expect(doc).toContain(`| \`${key}\` | \`${env}\` |`);
  });

  it.each([
    ['PORT', 'abc', 'server.port'],
    ['PORT', '70000', 'server.port'],
    ['PORT', '80abc', 'server.port'],
    ['SERVER_WORKERS', '-1', 'server.workers'],
    ['JWT_TTL_SECONDS', '1.5', 'auth.tokenTtlSeconds'],
    ['JWT_TTL_SECONDS', '0', 'auth.tokenTtlSeconds'],
    ['CAPTCHA_ENABLED', 'maybe', 'captcha.enabled'],
    ['CAPTCHA_TTL_SECONDS', '0', 'captcha.ttlSeconds'],
    ['MYSQL_URL', 'postgres://db/jim', 'mysql.url'],
    ['MYSQL_URL', 'not a url', 'mysql.url'],
    ['MYSQL_URL', 'mysql://root@db/bad-name', 'mysql.url'],
    ['REDIS_URL', 'http://cache', 'redis.url'],
    ['REDIS_PREFIX', '', 'redis.prefix'],
    ['MONGODB_URI', 'http://mongo', 'mongodb.uri'],
    ['LOG_LEVEL', 'loud', 'log.level'],
    ['NODE_ENV', 'staging', 'env'],
    ['RATE_LIMIT_REGISTER_PER_MINUTE', '10', 'rateLimit.registerPerMinute'],
  ])('refuses %s=%j with a one-line ConfigError naming the key', (name, value, key) => {
    const err = errorFor({ ...DISTRIBUTED, [name]: value });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).not.toContain('\n');
    expect(err.message).toContain(`${key} (${name})`);
  });

  it('never prints a password from a URL in the error', () => {
    const envs: Array<Record<string, string>> = [
      { MYSQL_URL: 'postgres://u:hunter22@db/jim' },
      { REDIS_URL: 'http://:hunter22@cache' },
    ];
    for (const env of envs) {
      expect(errorFor(env).message).not.toContain('hunter22');
    }
  });

  describe('running mode', () => {
    it('is embedded with neither MYSQL_URL nor REDIS_URL, keeping data under DATA_DIR', () => {
      expect(load({ DATA_DIR: '/var/lib/jim' })).toMatchObject({
        mode: 'embedded',
        dataDir: '/var/lib/jim',
        mysql: { url: '' },
        redis: { url: '' },
      });
    });

    it('is distributed with both', () => {
      expect(load(DISTRIBUTED)).toMatchObject({ mode: 'distributed', mysql: { url: DISTRIBUTED.MYSQL_URL } });
    });

    it.each([
      ['MYSQL_URL', 'REDIS_URL'],
      ['REDIS_URL', 'MYSQL_URL'],
    ])('refuses %s alone with one line naming %s', (set, missing) => {
      const err = errorFor({ [set]: DISTRIBUTED[set as keyof typeof DISTRIBUTED] });
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).not.toContain('\n');
      expect(err.message).toMatch(new RegExp(`^invalid configuration: ${missing} must be set too`));
      expect(err.message).toContain(`${set} alone`);
    });

    it('refuses SERVER_WORKERS above 1 in embedded mode with one line saying why', () => {
      const err = errorFor({ SERVER_WORKERS: '2' });
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).not.toContain('\n');
      expect(err.message).toContain('server.workers (SERVER_WORKERS)');
      expect(err.message).toContain('embedded mode: one process owns the SQLite files');
    });

    it('refuses federation in embedded mode with one line saying why', () => {
      const err = errorFor({
        FEDERATION_ENABLED: 'true',
        FEDERATION_DOMAIN: 'a.example',
        FEDERATION_PUBLIC_URL: 'https://a.example',
      });
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).not.toContain('\n');
      expect(err.message).toContain('federation.enabled (FEDERATION_ENABLED)');
      expect(err.message).toContain('distributed mode only');
    });

    it('takes SERVER_WORKERS 0 or 1 in embedded mode, and any count in distributed mode', () => {
      expect(load({ SERVER_WORKERS: '1' }).server.workers).toBe(1);
      expect(load({ SERVER_WORKERS: '0' }).server.workers).toBe(0);
      expect(load({ ...DISTRIBUTED, SERVER_WORKERS: '8' }).server.workers).toBe(8);
    });

    it("loads a whole config given back as overrides (a child process gets its parent's)", () => {
      const parent = load(DISTRIBUTED);
      expect(loadConfig({ env: {}, overrides: parent })).toEqual(parent);
    });
  });

  describe('in production', () => {
    it('starts without JWT_SECRET (the secret is then made and kept in the database)', () => {
      const c = load({ NODE_ENV: 'production' });
      expect(c.auth.jwtSecret).toBe('');
    });

    it('refuses a JWT_SECRET shorter than 32 characters', () => {
      for (const secret of ['dev-secret-change-me', 'short-secret', 'x'.repeat(31)]) {
        const err = errorFor({ NODE_ENV: 'production', JWT_SECRET: secret });
        expect(err.message).toContain('auth.jwtSecret (JWT_SECRET)');
        expect(err.message).not.toContain(secret);
      }
    });

    it('starts with a secret of 32 characters or more', () => {
      const c = load({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) });
      expect(c.env).toBe('production');
    });
  });

  it('layers config/<NODE_ENV>.yaml over default.yaml, then the environment, then overrides', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jim-config-'));
    try {
      fs.copyFileSync(path.resolve(__dirname, '../../config/default.yaml'), path.join(dir, 'default.yaml'));
      fs.writeFileSync(
        path.join(dir, 'test.yaml'),
        'server:\n  port: 4000\n  workers: 2\nlog:\n  level: warn\n',
      );
      const fromFile = loadConfig({ dir, env: { ...DISTRIBUTED, NODE_ENV: 'test' } });
      expect(fromFile.server).toMatchObject({ port: 4000, workers: 2 });
      const fromEnv = loadConfig({ dir, env: { ...DISTRIBUTED, NODE_ENV: 'test', PORT: '5000' } });
      expect(fromEnv.server).toMatchObject({ port: 5000, workers: 2 });
      const fromOverride = loadConfig({
        dir,
        env: { ...DISTRIBUTED, NODE_ENV: 'test', PORT: '5000' },
        overrides: { server: { port: 0 } },
      });
      expect(fromOverride.server.port).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown key in a config file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jim-config-'));
    try {
      fs.writeFileSync(path.join(dir, 'default.yaml'), 'server:\n  prot: 3000\n');
      expect(() => loadConfig({ dir, env: {} })).toThrow(ConfigError);
      expect(() => loadConfig({ dir, env: {} })).toThrow(/server\.prot/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('returns a frozen object', () => {
    const c = load({});
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.server)).toBe(true);
    expect(() => {
      (c.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});

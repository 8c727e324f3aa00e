import { Writable } from 'node:stream';
import { createLogger, redactUrl } from '../../src/shared/logger';

function capture(level = 'trace') {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const logger = createLogger({ level }, stream);
  return {
    logger,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const SECRETS = {
  bearer: 'Bearer eyJhbGciOiJIUzI1NiJ9.secret-token-1',
  token: 'secret-token-2',
  password: 'Secret-Passw0rd-3',
  oldPassword: 'Secret-Old-4',
  newPassword: 'Secret-New-5',
  captchaCode: 'cap7x',
  jwtSecret: 'jwt-secret-value-6',
};

describe('createLogger', () => {
  it('writes JSON lines with an ISO time, a string level, the service name and msg', () => {
    const { logger, lines } = capture();
    logger.info({ a: 1 }, 'hello');
    logger.warn('careful');
    logger.error('bad');
    const [info, warn, error] = lines();
    expect(info).toMatchObject({ level: 'info', msg: 'hello', a: 1, service: 'jim', pid: process.pid });
    expect(info.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(warn.level).toBe('warn');
    expect(error.level).toBe('error');
  });

  it('honours the level', () => {
    const { logger, lines } = capture('warn');
    logger.info('hidden');
    logger.debug('hidden');
    logger.warn('shown');
    expect(lines().map((l) => l.msg)).toEqual(['shown']);
  });

  it('never writes Authorization headers, tokens, passwords or captcha answers', () => {
    const { logger, text } = capture();
    logger.info(
      { authorization: SECRETS.bearer, token: SECRETS.token, password: SECRETS.password },
      'top level',
    );
    logger.info(
      {
        req: { headers: { authorization: SECRETS.bearer, cookie: 'sid=1' } },
        headers: { authorization: SECRETS.bearer },
        body: {
          password: SECRETS.password,
          oldPassword: SECRETS.oldPassword,
          newPassword: SECRETS.newPassword,
          captchaCode: SECRETS.captchaCode,
          token: SECRETS.token,
        },
      },
      'nested',
    );
    logger.info(
      { req: { body: { password: SECRETS.password, captchaCode: SECRETS.captchaCode } } },
      'deeper',
    );
    logger.info({ config: { auth: { jwtSecret: SECRETS.jwtSecret } } }, 'config');
    logger.info({ Authorization: SECRETS.bearer, headers: { Authorization: SECRETS.bearer } }, 'capitalised');
    const out = text();
    for (const secret of Object.values(SECRETS)) expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
    expect(out).toContain('"msg":"deeper"');
  });

  it('serialises an error with its message, stack and cause', () => {
    const { logger, lines } = capture();
    logger.error({ err: new Error('outer failure', { cause: new Error('inner cause') }) }, 'failed');
    const [line] = lines();
    const err = line.err as Record<string, unknown>;
    expect(err.message).toContain('outer failure');
    expect(err.stack).toEqual(expect.any(String));
    expect(JSON.stringify(err)).toContain('inner cause');
  });
});

describe('redactUrl', () => {
  it.each([
    ['/ws?token=abc.def.ghi', '/ws?token=[redacted]'],
    ['/ws?x=1&token=abc&y=2', '/ws?x=1&token=[redacted]&y=2'],
    ['/ws?TOKEN=abc', '/ws?TOKEN=[redacted]'],
    ['/ws?access_token=abc#frag', '/ws?access_token=[redacted]#frag'],
    ['/ws?token=', '/ws?token=[redacted]'],
    ['/ws?notatoken=1', '/ws?notatoken=1'],
    ['/api/v1/users?q=token', '/api/v1/users?q=token'],
    ['/healthz', '/healthz'],
  ])('%s → %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});

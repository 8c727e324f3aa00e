import crypto from 'node:crypto';
import {
  burnPasswordCheck,
  hashPassword,
  isStrongPassword,
  verifyPassword,
} from '../../src/modules/accounts/passwords';

describe('hashPassword', () => {
  it('writes scrypt$N$r$p$salt$key with a 16-byte salt and a 64-byte key', async () => {
    const hash = await hashPassword('Passw0rd!');
    const parts = hash.split('$');
    expect(parts).toHaveLength(6);
    const [scheme, n, r, p, salt, key] = parts;
    expect(scheme).toBe('scrypt');
    expect(Number(n)).toBeGreaterThanOrEqual(16384);
    expect(Number(r)).toBeGreaterThanOrEqual(8);
    expect(Number(p)).toBeGreaterThanOrEqual(1);
    expect(Buffer.from(salt, 'base64url')).toHaveLength(16);
    expect(Buffer.from(key, 'base64url')).toHaveLength(64);
    expect(hash).not.toContain('Passw0rd!');
  });

  it('uses a new salt each time', async () => {
    const [a, b] = await Promise.all([hashPassword('Passw0rd!'), hashPassword('Passw0rd!')]);
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
  });

  it('is plain scrypt, checkable by node:crypto alone', async () => {
    const hash = await hashPassword('Passw0rd!');
    const [, n, r, p, salt, key] = hash.split('$');
    const again = crypto.scryptSync('Passw0rd!', Buffer.from(salt, 'base64url'), 64, {
      N: Number(n),
      r: Number(r),
      p: Number(p),
    });
    expect(again.toString('base64url')).toBe(key);
  });
});

describe('verifyPassword', () => {
  let hash: string;
  beforeAll(async () => {
    hash = await hashPassword('Passw0rd!');
  });

  it('accepts the right password', async () => {
    expect(await verifyPassword('Passw0rd!', hash)).toBe(true);
  });

  it('refuses a wrong one, including a different case or a prefix', async () => {
    for (const wrong of ['passw0rd!', 'Passw0rd', 'Passw0rd!!', '', 'Passw0rd! ']) {
      expect(await verifyPassword(wrong, hash)).toBe(false);
    }
  });

  it('refuses malformed stored hashes instead of throwing', async () => {
    for (const stored of ['', 'plain', 'md5$abc', 'scrypt$16384$8$1$salt', `bcrypt${hash.slice(6)}`]) {
      expect(await verifyPassword('Passw0rd!', stored)).toBe(false);
    }
  });

  it('compares with crypto.timingSafeEqual', async () => {
    const spy = jest.spyOn(crypto, 'timingSafeEqual');
    try {
      await verifyPassword('Wrong-pass1', hash);
      await verifyPassword('Passw0rd!', hash);
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('burnPasswordCheck', () => {
  it('runs a full scrypt check against a dummy hash, so unknown users cost as much as known ones', async () => {
    const spy = jest.spyOn(crypto, 'scrypt');
    try {
      await burnPasswordCheck('whatever');
      await burnPasswordCheck('whatever');
      // The dummy hash is made once, then each call runs one scrypt of the same cost as a real check.
      const calls = spy.mock.calls.length;
      expect(calls).toBeGreaterThanOrEqual(2);
      const [, , keylen, options] = spy.mock.calls[spy.mock.calls.length - 1] as unknown as [
        string,
        Buffer,
        number,
        crypto.ScryptOptions,
      ];
      expect(keylen).toBe(64);
      expect(options).toMatchObject({ N: 16384, r: 8, p: 1 });
    } finally {
      spy.mockRestore();
    }
  });
});

describe('isStrongPassword', () => {
  it.each([
    ['abcDEF12', true],
    ['abcdef1!', true],
    ['ABCDEF1!', true],
    ['Abcdefg!', true],
    ['Pässwörd1', true],
    ['aB3!'.repeat(32), true],
    ['abcDE12', false],
    ['abcdefgh', false],
    ['abcdefg1', false],
    ['ABCDEFG!', false],
    ['12345678', false],
    ['aB3!'.repeat(32) + 'x', false],
    ['', false],
  ])('%j → %s', (password, strong) => {
    expect(isStrongPassword(password)).toBe(strong);
  });
});

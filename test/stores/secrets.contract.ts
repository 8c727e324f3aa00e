import type { SecretStore } from '../../src/shared/secrets';

/** A SecretStore under test and how to release it. */
export interface SecretsHandle {
  store: SecretStore;
  close: () => Promise<void>;
}

/** The behaviour every SecretStore implementation must show. */
export function secretStoreContract(name: string, open: () => Promise<SecretsHandle>): void {
  describe(`SecretStore contract: ${name}`, () => {
    let handle: SecretsHandle;
    beforeAll(async () => {
      handle = await open();
    });
    afterAll(async () => {
      await handle?.close();
    });

    it('stores the generated value once and returns it from then on', async () => {
      let made = 0;
      const generate = () => `value-${++made}`;
      expect(await handle.store.sharedSecret('jwt', generate)).toBe('value-1');
      expect(await handle.store.sharedSecret('jwt', generate)).toBe('value-1');
    });

    it('keeps secrets apart by name', async () => {
      expect(await handle.store.sharedSecret('a', () => 'first')).toBe('first');
      expect(await handle.store.sharedSecret('b', () => 'second')).toBe('second');
      expect(await handle.store.sharedSecret('a', () => 'other')).toBe('first');
    });

    it('gives every one of concurrent first callers the same value', async () => {
      const values = await Promise.all(
        Array.from({ length: 8 }, (_, i) => handle.store.sharedSecret('race', () => `offer-${i}`)),
      );
      expect(new Set(values).size).toBe(1);
      expect(values[0]).toMatch(/^offer-\d$/);
    });
  });
}

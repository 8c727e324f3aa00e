import { randomBytes } from 'node:crypto';
import type {
  FederationKeyStore,
  NewFederationKey,
} from '../../src/modules/federation/federation.keys.store';

/** A FederationKeyStore under test and how to release it. */
export interface FederationKeysHandle {
  store: FederationKeyStore;
  /** Another store on the same data with its own connection, as a second instance would have. */
  second: () => Promise<{ store: FederationKeyStore; close: () => Promise<void> }>;
  close: () => Promise<void>;
}

let n = 0;
function key(): NewFederationKey {
  return { keyId: `ed25519:k${++n}`, publicKey: randomBytes(32), privateKey: randomBytes(32) };
}

/** The behaviour every FederationKeyStore implementation must show. */
export function federationKeyStoreContract(name: string, open: () => Promise<FederationKeysHandle>): void {
  describe(`FederationKeyStore contract: ${name}`, () => {
    let handle: FederationKeysHandle;
    let store: FederationKeyStore;
    beforeAll(async () => {
      handle = await open();
      store = handle.store;
    });
    afterAll(async () => {
      await handle?.close();
    });

    it('has no current key at first, and lists none', async () => {
      expect(await store.current()).toBeNull();
      expect(await store.list()).toEqual([]);
    });

    it('lets exactly one of concurrent first offers from two instances become current', async () => {
      const other = await handle.second();
      try {
        const offers = Array.from({ length: 6 }, key);
        await Promise.all(offers.map((k, i) => (i % 2 ? other.store : store).offerFirst(k)));
        const current = await store.current();
        expect(current).not.toBeNull();
        const winner = offers.find((k) => k.keyId === current!.keyId)!;
        expect(current).toEqual({
          keyId: winner.keyId,
          publicKey: winner.publicKey,
          privateKey: winner.privateKey,
          createdAt: expect.any(Date),
          expiredAt: null,
        });
        expect(await other.store.current()).toEqual(current);
        expect((await store.list()).map((k) => k.keyId)).toEqual([winner.keyId]);
        await store.offerFirst(key());
        expect((await store.current())?.keyId).toBe(winner.keyId);
      } finally {
        await other.close();
      }
    });

    it('rotates: the new key is current, the old ones stay listed with an expiry, newest first', async () => {
      const first = (await store.current())!;
      // Keys are ordered by creation time, stored to the millisecond: rotations a few ms apart.
      const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
      await tick();
      const second = key();
      await store.rotate(second);
      await tick();
      const third = key();
      await store.rotate(third);
      expect((await store.current())?.keyId).toBe(third.keyId);
      const listed = await store.list();
      expect(listed.map((k) => k.keyId)).toEqual([third.keyId, second.keyId, first.keyId]);
      expect(listed[0].expiredAt).toBeNull();
      expect(listed[1].expiredAt).toBeInstanceOf(Date);
      expect(listed[2].expiredAt).toBeInstanceOf(Date);
      expect(listed[1].publicKey).toEqual(second.publicKey);
      expect(listed[0]).not.toHaveProperty('privateKey');
    });

    it('refuses a rotation to a key id that exists, leaving the current key in place', async () => {
      const current = (await store.current())!;
      const outcome = await store
        .rotate({ keyId: current.keyId, publicKey: randomBytes(32), privateKey: randomBytes(32) })
        .then(
          () => 'rotated',
          () => 'refused',
        );
      expect(outcome).toBe('refused');
      expect(await store.current()).toEqual(current);
    });
  });
}

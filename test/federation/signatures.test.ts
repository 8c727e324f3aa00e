import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  contentDigest,
  digestMatches,
  parseSignature,
  signFederationRequest,
  signRequest,
  SignatureRefused,
  verifyFederationRequest,
  verifyParsed,
  type SignableRequest,
  type VerifyPolicy,
} from '../../src/modules/federation/federation.signatures';

// RFC 9421 Appendix B.1.4: test-key-ed25519.
const RFC_JWK = {
  kty: 'OKP',
  crv: 'Ed25519',
  d: 'n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU',
  x: 'JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs',
};
const RFC_REQUEST: SignableRequest = {
  method: 'POST',
  target: '/foo?param=Value&Pet=dog',
  authority: 'example.com',
  headers: {
    Host: 'example.com',
    Date: 'Tue, 20 Apr 2021 02:07:55 GMT',
    'Content-Type': 'application/json',
    'Content-Digest':
      'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
    'Content-Length': '18',
  },
};
const RFC_BODY = '{"hello": "world"}';
const B26_COMPONENTS = ['date', '@method', '@path', '@authority', 'content-type', 'content-length'];
const B26_SIGNATURE =
  'sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:';
const B26_INPUT =
  'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"';

describe('RFC 9421 and RFC 9530 examples', () => {
  const privateKey = createPrivateKey({ key: RFC_JWK, format: 'jwk' });
  const publicKey = createPublicKey(privateKey);

  it('signs the B.2.6 request to the exact Signature-Input and Signature of the RFC', () => {
    const out = signRequest(
      RFC_REQUEST,
      'sig-b26',
      B26_COMPONENTS,
      { created: 1618884473, keyid: 'test-key-ed25519' },
      privateKey,
    );
    expect(out.signatureInput).toBe(B26_INPUT);
    expect(out.signature).toBe(B26_SIGNATURE);
  });

  it('verifies the B.2.6 signature and refuses it once a covered header changes', () => {
    const signed = {
      ...RFC_REQUEST,
      headers: { ...RFC_REQUEST.headers, 'Signature-Input': B26_INPUT, Signature: B26_SIGNATURE },
    };
    expect(verifyParsed(signed, parseSignature(signed, 'sig-b26'), publicKey)).toBe(true);
    const tampered = { ...signed, headers: { ...signed.headers, 'Content-Length': '19' } };
    expect(verifyParsed(tampered, parseSignature(tampered, 'sig-b26'), publicKey)).toBe(false);
  });

  it('computes the RFC 9530 B.1 sha-256 digest and checks sha-256 and sha-512 digests over raw bytes', () => {
    expect(contentDigest(RFC_BODY)).toBe('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:');
    expect(digestMatches(RFC_REQUEST.headers['Content-Digest'] as string, RFC_BODY)).toBe(true);
    expect(digestMatches(contentDigest(RFC_BODY), RFC_BODY + ' ')).toBe(false);
    expect(digestMatches('md5=:AAAA:', RFC_BODY)).toBe(false);
    expect(digestMatches('not a dictionary ((', RFC_BODY)).toBe(false);
    expect(digestMatches(undefined, RFC_BODY)).toBe(false);
  });
});

describe('federation request profile', () => {
  const a = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const now = Date.UTC(2026, 11, 2, 12, 0, 0);
  const body = Buffer.from(JSON.stringify({ events: [{ type: 'message', id: '01J' }] }));

  function signed(
    overrides: { origin?: string; destination?: string; now?: number; nonce?: string; key?: KeyObject } = {},
  ): SignableRequest {
    const headers = signFederationRequest(
      {
        method: 'PUT',
        target: '/federation/v1/transactions/t1?x=1',
        body,
        origin: overrides.origin ?? 'a.example',
        destination: overrides.destination ?? 'b.example',
      },
      { keyId: 'ed25519:k1', privateKey: overrides.key ?? a.privateKey },
      { now: overrides.now ?? now, nonce: overrides.nonce ?? 'n-1' },
    );
    return { method: 'PUT', target: '/federation/v1/transactions/t1?x=1', headers };
  }

  function policy(
    extra: Partial<VerifyPolicy> = {},
  ): VerifyPolicy & { nonces: Set<string>; keyLookups: string[] } {
    const nonces = new Set<string>();
    const keyLookups: string[] = [];
    return {
      ownDomain: 'b.example',
      isAllowed: (origin) => origin === 'a.example',
      resolveKey: async (origin, keyId) => {
        keyLookups.push(`${origin}/${keyId}`);
        return origin === 'a.example' && keyId === 'ed25519:k1' ? a.publicKey : null;
      },
      rememberNonce: async (origin, nonce) => {
        const k = `${origin}|${nonce}`;
        if (nonces.has(k)) return false;
        nonces.add(k);
        return true;
      },
      now: () => now,
      nonces,
      keyLookups,
      ...extra,
    };
  }

  async function refusal(req: SignableRequest, p: VerifyPolicy, raw = body): Promise<string> {
    try {
      await verifyFederationRequest(req, raw, p);
    } catch (err) {
      if (err instanceof SignatureRefused) return err.reason;
      throw err;
    }
    return 'accepted';
  }

  it('accepts a well-signed request and names the origin and key', async () => {
    await expect(verifyFederationRequest(signed(), body, policy())).resolves.toEqual({
      origin: 'a.example',
      keyId: 'ed25519:k1',
    });
  });

  it('refuses each fault with its own reason', async () => {
    const req = signed();
    expect(await refusal({ ...req, headers: {} }, policy())).toBe('unsigned');
    expect(await refusal(req, policy(), Buffer.concat([body, Buffer.from(' ')]))).toBe('digest_mismatch');
    expect(await refusal(signed({ key: other.privateKey }), policy())).toBe('bad_signature');
    expect(await refusal(signed({ now: now - 301_000 }), policy())).toBe('stale');
    expect(await refusal(signed({ now: now + 61_000 }), policy())).toBe('future');
    expect(await refusal(signed({ destination: 'c.example' }), policy())).toBe('wrong_destination');
    expect(await refusal(signed({ origin: 'evil.example' }), policy())).toBe('origin_not_allowed');
    expect(await refusal(signed({ origin: 'b.example' }), policy({ isAllowed: () => true }))).toBe(
      'origin_not_allowed',
    );
    const p = policy();
    expect(await refusal(req, p)).toBe('accepted');
    expect(await refusal(req, p)).toBe('replayed');
    const otherPath = { ...req, target: '/federation/v1/transactions/t2?x=1' };
    expect(await refusal(otherPath, policy())).toBe('bad_signature');
    const otherQuery = { ...req, target: '/federation/v1/transactions/t1?x=2' };
    expect(await refusal(otherQuery, policy())).toBe('bad_signature');
    expect(await refusal({ ...req, method: 'POST' }, policy())).toBe('bad_signature');
  });

  it('makes no key lookup for an origin that is not allowed', async () => {
    const p = policy();
    expect(await refusal(signed({ origin: 'evil.example' }), p)).toBe('origin_not_allowed');
    expect(p.keyLookups).toEqual([]);
  });

  it('refuses a signature that leaves out a required component or parameter', async () => {
    const req = signed();
    const input = String(req.headers['signature-input']).replace(' "jim-destination"', '');
    expect(await refusal({ ...req, headers: { ...req.headers, 'signature-input': input } }, policy())).toBe(
      'missing_component',
    );
    const noNonce = String(req.headers['signature-input']).replace(/;nonce="[^"]*"/, '');
    expect(await refusal({ ...req, headers: { ...req.headers, 'signature-input': noNonce } }, policy())).toBe(
      'malformed',
    );
  });

  it('does not record the nonce of a request that fails verification', async () => {
    const p = policy();
    expect(await refusal(signed({ key: other.privateKey, nonce: 'n-9' }), p)).toBe('bad_signature');
    expect(p.nonces.size).toBe(0);
    expect(await refusal(signed({ nonce: 'n-9' }), p)).toBe('accepted');
  });
});

import { createHash, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import {
  isInnerList,
  parseDictionary,
  serializeInnerList,
  type Dictionary,
  type InnerList,
  type Item,
} from 'structured-headers';

/**
 * HTTP Message Signatures (RFC 9421) with ed25519, and Content-Digest (RFC 9530), for the requests servers
 * send each other. Generic enough to check the RFC's own examples; the federation profile (which components
 * must be covered, which parameters must be present) is applied by `signFederationRequest` and
 * `verifyFederationRequest`.
 */

/** The parts of an HTTP request that signature components are derived from. */
export interface SignableRequest {
  method: string;
  /** Path and query as sent on the request line, e.g. `/federation/v1/txn/1?x=y`. */
  target: string;
  /** The authority (host[:port]) the request was sent to. */
  authority?: string;
  /** Header fields, names in any case; a repeated field's values joined with `, ` as HTTP allows. */
  headers: Record<string, string | string[] | undefined>;
}

/** Why a signed request was refused; stable strings, used as metric labels and in logs. */
export type RefusalReason =
  | 'unsigned'
  | 'malformed'
  | 'bad_signature'
  | 'unknown_key'
  | 'stale'
  | 'future'
  | 'replayed'
  | 'wrong_destination'
  | 'digest_mismatch'
  | 'origin_not_allowed'
  | 'missing_component';

/** A signed request that does not pass verification. */
export class SignatureRefused extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'SignatureRefused';
  }
}

/** The signature label the federation profile uses in Signature-Input and Signature. */
export const SIGNATURE_LABEL = 'jim';
/** Header fields naming the sending and the receiving server; both are covered by the signature. */
export const ORIGIN_HEADER = 'jim-origin';
export const DESTINATION_HEADER = 'jim-destination';
/** Components every federation request signature covers, in this order. */
export const FEDERATION_COMPONENTS = [
  '@method',
  '@path',
  '@query',
  'content-digest',
  ORIGIN_HEADER,
  DESTINATION_HEADER,
] as const;

/** `Content-Digest` value for a body (RFC 9530): `sha-256=:<base64>:` over the raw bytes. */
export function contentDigest(body: Buffer | string): string {
  return `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
}

/**
 * Checks a `Content-Digest` header against the raw body bytes. Accepts sha-256 and sha-512 entries; every
 * known entry present must match and at least one must be present.
 */
export function digestMatches(header: string | undefined, body: Buffer | string): boolean {
  if (!header) return false;
  let dict: Dictionary;
  try {
    dict = parseDictionary(header);
  } catch {
    return false;
  }
  let checked = 0;
  for (const [alg, [value]] of dict) {
    const hash = alg === 'sha-256' ? 'sha256' : alg === 'sha-512' ? 'sha512' : null;
    if (!hash) continue;
    if (!(value instanceof ArrayBuffer)) return false;
    const expected = createHash(hash).update(body).digest();
    const got = Buffer.from(value);
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) return false;
    checked++;
  }
  return checked > 0;
}

function headerValue(req: SignableRequest, name: string): string | undefined {
  for (const [key, value] of Object.entries(req.headers)) {
    if (key.toLowerCase() !== name) continue;
    if (value === undefined) return undefined;
    return (Array.isArray(value) ? value : [value]).map((v) => v.trim()).join(', ');
  }
  return undefined;
}

/** The value of one covered component (RFC 9421 section 2), or undefined when the request lacks it. */
export function componentValue(req: SignableRequest, name: string): string | undefined {
  const q = req.target.indexOf('?');
  switch (name) {
    case '@method':
      return req.method.toUpperCase();
    case '@path':
      return q < 0 ? req.target : req.target.slice(0, q);
    case '@query':
      return q < 0 ? '?' : req.target.slice(q);
    case '@authority':
      return req.authority?.toLowerCase();
    default:
      if (name.startsWith('@')) return undefined;
      return headerValue(req, name);
  }
}

/** Parameters of one signature (RFC 9421 section 2.3). */
export interface SignatureParams {
  created?: number;
  expires?: number;
  keyid?: string;
  nonce?: string;
  alg?: string;
  tag?: string;
}

function paramsOrder(params: SignatureParams): Map<string, string | number> {
  const out = new Map<string, string | number>();
  for (const key of ['created', 'expires', 'keyid', 'nonce', 'alg', 'tag'] as const) {
    const value = params[key];
    if (value !== undefined) out.set(key, value);
  }
  return out;
}

/** Serialises the `@signature-params` value: the inner list of components with its parameters. */
export function serializeSignatureParams(components: readonly string[], params: SignatureParams): string {
  const list: InnerList = [components.map((c): Item => [c, new Map()]), paramsOrder(params)];
  return serializeInnerList(list);
}

/** Builds the signature base (RFC 9421 section 2.5). Throws `missing_component` for an absent component. */
export function signatureBase(
  req: SignableRequest,
  components: readonly string[],
  paramsValue: string,
): string {
  const lines: string[] = [];
  for (const name of components) {
    const value = componentValue(req, name);
    if (value === undefined) throw new SignatureRefused('missing_component', `The request has no ${name}`);
    lines.push(`"${name}": ${value}`);
  }
  lines.push(`"@signature-params": ${paramsValue}`);
  return lines.join('\n');
}

/** Signs a request: returns the `Signature-Input` and `Signature` header values for one label. */
export function signRequest(
  req: SignableRequest,
  label: string,
  components: readonly string[],
  params: SignatureParams,
  privateKey: KeyObject,
): { signatureInput: string; signature: string } {
  const paramsValue = serializeSignatureParams(components, params);
  const base = signatureBase(req, components, paramsValue);
  const sig = sign(null, Buffer.from(base, 'utf8'), privateKey).toString('base64');
  return { signatureInput: `${label}=${paramsValue}`, signature: `${label}=:${sig}:` };
}

/** One signature found on a request, parsed but not yet verified. */
export interface ParsedSignature {
  components: string[];
  params: SignatureParams;
  paramsValue: string;
  signature: Buffer;
}

/** Reads the signature with `label` from a request's Signature-Input and Signature headers. */
export function parseSignature(req: SignableRequest, label: string): ParsedSignature {
  const inputHeader = headerValue(req, 'signature-input');
  const sigHeader = headerValue(req, 'signature');
  if (!inputHeader || !sigHeader) throw new SignatureRefused('unsigned', 'The request is not signed');
  let inputs: Dictionary;
  let sigs: Dictionary;
  try {
    inputs = parseDictionary(inputHeader);
    sigs = parseDictionary(sigHeader);
  } catch {
    throw new SignatureRefused('malformed', 'Signature-Input or Signature is not a structured dictionary');
  }
  const input = inputs.get(label);
  const sig = sigs.get(label);
  if (!input || !sig) throw new SignatureRefused('unsigned', `No signature labelled ${label}`);
  if (!isInnerList(input)) throw new SignatureRefused('malformed', 'Signature-Input is not an inner list');
  const [items, rawParams] = input as InnerList;
  const components: string[] = [];
  for (const [value, itemParams] of items) {
    // Component parameters (;sf, ;key, ;req...) are not part of this profile.
    if (typeof value !== 'string' || itemParams.size > 0) {
      throw new SignatureRefused('malformed', 'Unsupported component in Signature-Input');
    }
    components.push(value);
  }
  if (new Set(components).size !== components.length) {
    throw new SignatureRefused('malformed', 'A component is listed twice');
  }
  const params: SignatureParams = {};
  for (const [key, value] of rawParams) {
    if ((key === 'created' || key === 'expires') && Number.isInteger(value)) params[key] = value as number;
    else if (
      (key === 'keyid' || key === 'nonce' || key === 'alg' || key === 'tag') &&
      typeof value === 'string'
    ) {
      params[key] = value;
    } else throw new SignatureRefused('malformed', `Bad signature parameter ${key}`);
  }
  const bytes = sig[0];
  if (!(bytes instanceof ArrayBuffer))
    throw new SignatureRefused('malformed', 'Signature is not a byte sequence');
  return {
    components,
    params,
    paramsValue: serializeInnerList(input as InnerList),
    signature: Buffer.from(bytes),
  };
}

/** Verifies a parsed signature with an ed25519 public key; false when it does not verify. */
export function verifyParsed(req: SignableRequest, parsed: ParsedSignature, publicKey: KeyObject): boolean {
  if (parsed.params.alg !== undefined && parsed.params.alg !== 'ed25519') return false;
  if (parsed.signature.length !== 64) return false;
  const base = signatureBase(req, parsed.components, parsed.paramsValue);
  try {
    return verify(null, Buffer.from(base, 'utf8'), publicKey, parsed.signature);
  } catch {
    return false;
  }
}

/** This server's signing key as the federation profile uses it. */
export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
}

/** A request to send to a peer, before signing. */
export interface OutgoingRequest {
  method: string;
  /** Path and query, e.g. `/federation/v1/transactions/abc`. */
  target: string;
  body: Buffer;
  origin: string;
  destination: string;
}

/**
 * Signs a server-to-server request with the federation profile: covers method, path, query, content digest,
 * origin and destination, with `created`, `keyid`, `nonce` and `alg`. Returns every header to send.
 */
export function signFederationRequest(
  out: OutgoingRequest,
  key: SigningKey,
  options: { now?: number; nonce: string },
): Record<string, string> {
  const headers: Record<string, string> = {
    'content-digest': contentDigest(out.body),
    [ORIGIN_HEADER]: out.origin,
    [DESTINATION_HEADER]: out.destination,
  };
  const created = Math.floor((options.now ?? Date.now()) / 1000);
  const { signatureInput, signature } = signRequest(
    { method: out.method, target: out.target, headers },
    SIGNATURE_LABEL,
    FEDERATION_COMPONENTS,
    { created, keyid: key.keyId, nonce: options.nonce, alg: 'ed25519' },
    key.privateKey,
  );
  return { ...headers, 'signature-input': signatureInput, signature };
}

/** What a receiver needs to decide on an incoming signed request. */
export interface VerifyPolicy {
  /** This server's own domain: the destination must be it, and the origin must not. */
  ownDomain: string;
  /** Whether this origin may talk to us at all (allow-list, deny-list, open mode). */
  isAllowed: (origin: string) => boolean;
  /**
   * The origin's public key for a key id that may verify a signature created at `createdSec`, fetching it
   * when unknown; null when the origin has no such key (or it had expired by then).
   */
  resolveKey: (origin: string, keyId: string, createdSec: number) => Promise<KeyObject | null>;
  /** Records a nonce for an origin; false when it was seen before (within the validity window). */
  rememberNonce: (origin: string, nonce: string, expiresAtMs: number) => Promise<boolean>;
  now?: () => number;
  /** How old `created` may be (default 5 minutes) and how far ahead (default 1 minute), in seconds. */
  maxAgeSeconds?: number;
  maxSkewSeconds?: number;
}

/**
 * Verifies an incoming federation request, in the order that spends nothing on a peer that is not allowed:
 * signed, well-formed, covering every component of the profile, for this destination, from an allowed origin,
 * fresh, body matching its digest, signature valid under the origin's key, nonce unseen. Fails closed.
 * Returns the authenticated origin and key id.
 */
export async function verifyFederationRequest(
  req: SignableRequest,
  body: Buffer,
  policy: VerifyPolicy,
): Promise<{ origin: string; keyId: string }> {
  const parsed = parseSignature(req, SIGNATURE_LABEL);
  for (const c of FEDERATION_COMPONENTS) {
    if (!parsed.components.includes(c))
      throw new SignatureRefused('missing_component', `${c} is not covered`);
  }
  const { created, keyid, nonce, alg } = parsed.params;
  if (created === undefined || !keyid || !nonce || alg !== 'ed25519') {
    throw new SignatureRefused('malformed', 'created, keyid, nonce and alg="ed25519" are required');
  }
  const origin = componentValue(req, ORIGIN_HEADER)?.toLowerCase();
  const destination = componentValue(req, DESTINATION_HEADER)?.toLowerCase();
  if (!origin || !destination) throw new SignatureRefused('malformed', 'Origin or destination missing');
  if (destination !== policy.ownDomain) {
    throw new SignatureRefused('wrong_destination', 'The request is for another server');
  }
  if (origin === policy.ownDomain || !policy.isAllowed(origin)) {
    throw new SignatureRefused('origin_not_allowed', 'The origin is not allowed');
  }
  const nowSec = Math.floor((policy.now ?? Date.now)() / 1000);
  if (created < nowSec - (policy.maxAgeSeconds ?? 300))
    throw new SignatureRefused('stale', 'Signature too old');
  if (created > nowSec + (policy.maxSkewSeconds ?? 60)) {
    throw new SignatureRefused('future', 'Signature created in the future');
  }
  if (parsed.params.expires !== undefined && parsed.params.expires < nowSec) {
    throw new SignatureRefused('stale', 'Signature expired');
  }
  if (!digestMatches(componentValue(req, 'content-digest'), body)) {
    throw new SignatureRefused('digest_mismatch', 'Content-Digest does not match the body');
  }
  const key = await policy.resolveKey(origin, keyid, created);
  if (!key) throw new SignatureRefused('unknown_key', 'Unknown key id');
  if (!verifyParsed(req, parsed, key))
    throw new SignatureRefused('bad_signature', 'The signature does not verify');
  const windowEnd = (created + (policy.maxAgeSeconds ?? 300) + (policy.maxSkewSeconds ?? 60)) * 1000;
  if (!(await policy.rememberNonce(origin, nonce, windowEnd))) {
    throw new SignatureRefused('replayed', 'The nonce was seen before');
  }
  return { origin, keyId: keyid };
}

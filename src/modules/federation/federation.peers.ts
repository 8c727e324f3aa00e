import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** Who this server talks to, from FEDERATION_MODE, FEDERATION_PEERS and FEDERATION_DENY. */
export class PeerPolicy {
  private readonly peers: Map<string, string>;
  private readonly deny: Set<string>;

  constructor(
    readonly ownDomain: string,
    readonly mode: 'allowlist' | 'open',
    peers: string,
    deny: string,
  ) {
    this.peers = new Map(
      splitList(peers).map((entry) => {
        const eq = entry.indexOf('=');
        return [entry.slice(0, eq).toLowerCase(), entry.slice(eq + 1).replace(/\/+$/, '')];
      }),
    );
    this.deny = new Set(splitList(deny).map((d) => d.toLowerCase()));
  }

  /** Whether `domain` may talk to us and be talked to: never ourselves or a denied domain. */
  isAllowed(domain: string): boolean {
    const d = domain.toLowerCase();
    if (d === this.ownDomain || this.deny.has(d) || !PEER_DOMAIN.test(d)) return false;
    return this.mode === 'open' || this.peers.has(d);
  }

  /** Whether the operator named this peer in FEDERATION_PEERS (its address is trusted as configured). */
  isConfigured(domain: string): boolean {
    return this.peers.has(domain.toLowerCase());
  }

  /** Where to reach an allowed peer: its configured base URL, else (open mode) `https://<domain>`. */
  baseUrl(domain: string): string | null {
    const d = domain.toLowerCase();
    if (!this.isAllowed(d)) return null;
    return this.peers.get(d) ?? `https://${d}`;
  }

  /** The configured peers' domains. */
  configuredPeers(): string[] {
    return [...this.peers.keys()];
  }
}

const PEER_DOMAIN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:\d{1,5})?$/;

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
}

/**
 * Whether an address is one a server on the internet never legitimately has: loopback, private, link-local,
 * unique-local, carrier-grade NAT, multicast, unspecified, documentation and IPv4-mapped forms of those.
 */
export function isPrivateAddress(address: string): boolean {
  if (net.isIPv4(address)) {
    const [a, b, c] = address.split('.').map(Number);
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 192 && b === 0 && (c === 0 || c === 2)) ||
      (a === 198 && (b === 18 || b === 19)) ||
      (a === 198 && b === 51 && c === 100) ||
      (a === 203 && b === 0 && c === 113) ||
      a >= 224
    );
  }
  if (net.isIPv6(address)) {
    const lower = address.toLowerCase();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped) return isPrivateAddress(mapped[1]);
    return (
      lower === '::' ||
      lower === '::1' ||
      /^f[cd]/.test(lower) ||
      /^fe[89ab]/.test(lower) ||
      lower.startsWith('ff') ||
      lower.startsWith('2001:db8') ||
      lower.startsWith('64:ff9b')
    );
  }
  return true;
}

/** The callback of a socket's `lookup` option, in its single-address and all-addresses forms. */
type LookupCallback = (err: Error | null, address: string | dns.LookupAddress[], family?: number) => void;

/** Thrown when a request to a peer is refused before it leaves (not allowed, private address). */
export class PeerRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeerRefused';
  }
}

/** A peer's answer. */
export interface PeerResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Timeouts and limits of outbound requests. */
export interface PeerHttpOptions {
  connectTimeoutMs?: number;
  totalTimeoutMs?: number;
  maxResponseBytes?: number;
}

/**
 * Outbound HTTP to peers. Refuses domains the policy does not allow before anything is sent, and for peers
 * that are not configured by name refuses to connect to a private or loopback address (checked on the address
 * the socket actually connects to, so DNS rebinding cannot slip one in). Connect timeout 5 s, total 30 s.
 */
export class PeerHttp {
  constructor(
    private readonly policy: PeerPolicy,
    private readonly options: PeerHttpOptions = {},
  ) {}

  /** Sends one request to `domain` at `target` (path and query, relative to its base URL). */
  async request(
    domain: string,
    method: string,
    target: string,
    headers: Record<string, string> = {},
    body?: Buffer,
  ): Promise<PeerResponse> {
    const base = this.policy.baseUrl(domain);
    if (!base) throw new PeerRefused(`${domain} is not an allowed peer`);
    const url = new URL(base + target);
    const guard = !this.policy.isConfigured(domain);
    // Every address the name resolves to is checked (Node asks for all of them when it may try several).
    const lookup = ((hostname: string, opts: dns.LookupOptions, cb: LookupCallback) => {
      dns.lookup(hostname, { ...opts, all: true }, (err, addresses) => {
        if (err) return cb(err, '', 0);
        if (addresses.length === 0) return cb(new PeerRefused(`${domain} does not resolve`), '', 0);
        if (guard && addresses.some((a) => isPrivateAddress(a.address))) {
          return cb(new PeerRefused(`${domain} resolves to a private address`), '', 0);
        }
        if (opts.all) cb(null, addresses);
        else cb(null, addresses[0].address, addresses[0].family);
      });
    }) as net.LookupFunction;
    if (
      guard &&
      net.isIP(url.hostname.replace(/^\[|\]$/g, '')) &&
      isPrivateAddress(url.hostname.replace(/^\[|\]$/g, ''))
    ) {
      throw new PeerRefused(`${domain} is a private address`);
    }
    const mod = url.protocol === 'https:' ? https : http;
    const connectTimeout = this.options.connectTimeoutMs ?? 5_000;
    const maxBytes = this.options.maxResponseBytes ?? 2 * 1024 * 1024;
    return new Promise<PeerResponse>((resolve, reject) => {
      const req = mod.request(
        url,
        {
          method,
          headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) },
          lookup,
          agent: false,
          signal: AbortSignal.timeout(this.options.totalTimeoutMs ?? 30_000),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) {
              req.destroy(new Error(`response from ${domain} is larger than ${maxBytes} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      const timer = setTimeout(
        () => req.destroy(new Error(`connect to ${domain} timed out`)),
        connectTimeout,
      );
      req.on('socket', (socket) => {
        if (!socket.connecting) clearTimeout(timer);
        else socket.once('connect', () => clearTimeout(timer));
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.on('close', () => clearTimeout(timer));
      req.end(body);
    });
  }
}

import { randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';
import { Counter } from 'prom-client';
import type { Config } from '../../config';
import type { Pool } from '../../infra/mysql';
import { AppError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import type { ShortLivedStore } from '../../shared/short-lived';
import type { Metrics } from '../../shared/metrics';
import { FederationKeys } from './federation.keys';
import { MysqlFederationKeyStore } from './federation.keys.store.mysql';
import { PeerKeys, type ServerDocument } from './federation.peer-keys';
import { PeerHttp, PeerPolicy, type PeerResponse } from './federation.peers';
import {
  SignatureRefused,
  signFederationRequest,
  verifyFederationRequest,
  type RefusalReason,
} from './federation.signatures';

/** Refusals that say the peer is not allowed here (403); every other refusal is 401. */
const FORBIDDEN_REASONS: ReadonlySet<RefusalReason> = new Set(['origin_not_allowed', 'wrong_destination']);

/** Everything federation needs at run time; built once by the composition root when federation is on. */
export class Federation {
  readonly policy: PeerPolicy;
  readonly keys: FederationKeys;
  readonly peerKeys: PeerKeys;
  readonly http: PeerHttp;
  private readonly refusals: Counter<'reason'>;
  private readonly keyFetchFailures: Counter<'peer'>;

  constructor(
    private readonly deps: {
      config: Config['federation'];
      pool: Pool;
      /** Nonces seen and key-fetch gates, shared by every instance of the deployment. */
      shortLived: ShortLivedStore;
      logger: Logger;
      metrics: Metrics;
    },
  ) {
    const { config } = deps;
    this.policy = new PeerPolicy(config.domain, config.mode, config.peers, config.deny);
    this.keys = new FederationKeys(new MysqlFederationKeyStore(deps.pool));
    this.http = new PeerHttp(this.policy);
    this.refusals = new Counter({
      name: 'jim_federation_inbound_refused_total',
      help: 'Server-to-server requests refused, by reason',
      labelNames: ['reason'],
      registers: [deps.metrics.registry],
    });
    this.keyFetchFailures = new Counter({
      name: 'jim_federation_key_fetch_failures_total',
      help: "Failed fetches of a peer's well-known document, by peer",
      labelNames: ['peer'],
      registers: [deps.metrics.registry],
    });
    const { shortLived } = deps;
    this.peerKeys = new PeerKeys({
      pool: deps.pool,
      policy: this.policy,
      http: this.http,
      cacheSeconds: config.keyCacheSeconds,
      retryAfterFailureMs: config.keyRefetchSeconds * 1000,
      logger: deps.logger,
      onFetchFailure: (peer) => this.keyFetchFailures.inc({ peer }),
      gate: (domain) => shortLived.setIfAbsent(`fed:keyfetch:${domain}`, '1', config.keyRefetchSeconds),
    });
  }

  /** Creates this deployment's key at first start. */
  async start(): Promise<void> {
    await this.keys.ensureKey();
  }

  /** The document served at `/.well-known/jim/server`. */
  async serverDocument(now = Date.now()): Promise<ServerDocument> {
    const verifyKeys: ServerDocument['verifyKeys'] = {};
    const oldVerifyKeys: ServerDocument['oldVerifyKeys'] = {};
    for (const k of await this.keys.listKeys()) {
      if (k.expiredAt) oldVerifyKeys[k.keyId] = { key: k.publicKey, expiredAt: k.expiredAt.toISOString() };
      else verifyKeys[k.keyId] = k.publicKey;
    }
    return {
      serverName: this.deps.config.domain,
      federationUrl: this.deps.config.publicUrl.replace(/\/+$/, ''),
      verifyKeys,
      oldVerifyKeys,
      validUntil: new Date(now + this.deps.config.validUntilSeconds * 1000).toISOString(),
    };
  }

  /** Sends a signed request to a peer. */
  async send(domain: string, method: string, target: string, body?: unknown): Promise<PeerResponse> {
    const raw = Buffer.from(body === undefined ? '' : JSON.stringify(body));
    const headers = signFederationRequest(
      { method, target, body: raw, origin: this.deps.config.domain, destination: domain },
      await this.keys.signingKey(),
      { nonce: randomBytes(16).toString('base64url') },
    );
    return this.http.request(
      domain,
      method,
      target,
      { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      raw,
    );
  }

  /** Express middleware: verifies a signed server request, sets `res.locals.federationOrigin`, or refuses. */
  authenticate(): RequestHandler {
    const { shortLived } = this.deps;
    return async (req, res, next) => {
      try {
        const body = (req as { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0);
        const { origin } = await verifyFederationRequest(
          { method: req.method, target: req.originalUrl, headers: req.headers },
          body,
          {
            ownDomain: this.deps.config.domain,
            isAllowed: (o) => this.policy.isAllowed(o),
            resolveKey: (o, keyId, created) => this.peerKeys.resolve(o, keyId, created),
            rememberNonce: (o, nonce, expiresAtMs) =>
              shortLived.setIfAbsent(
                `fed:nonce:${o}:${nonce}`,
                '1',
                Math.max(1000, expiresAtMs - Date.now()) / 1000,
              ),
          },
        );
        res.locals.federationOrigin = origin;
        next();
      } catch (err) {
        if (!(err instanceof SignatureRefused)) return next(err);
        this.refusals.inc({ reason: err.reason });
        this.deps.logger.warn(
          { reqId: req.id, reason: err.reason, origin: req.get('jim-origin') ?? null, path: req.path },
          'federation request refused',
        );
        const forbidden = FORBIDDEN_REASONS.has(err.reason);
        const details = [{ reason: err.reason }];
        next(
          forbidden
            ? new AppError('PEER_NOT_ALLOWED', 403, err.message, { details })
            : new AppError('SIGNATURE_INVALID', 401, err.message, { details }),
        );
      }
    };
  }
}

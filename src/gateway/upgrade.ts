import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Config } from '../config';
import { AppError, toAppError } from '../shared/errors';
import { redactUrl, type Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import { GatewaySocket } from './connection';
import type { ConnectionRegistry } from './engine';
import type { LeaseKeeper } from './lease';

/** What a verified token says about the connection it opens. */
export interface ConnectionClaims {
  userId: string;
  jti: string;
  /** Issue time (ms). */
  issuedAt: number;
  /** Expiry (ms): the connection is closed with 4001 at the first heartbeat after it. */
  expiresAt: number;
}

/** Checks access tokens for the gateway (the accounts module's token service provides it). */
export interface TokenVerifier {
  /** The token's claims; throws an AppError with status 401 when it is invalid, expired or revoked. */
  verify(token: string): Promise<ConnectionClaims>;
  /** Whether the token has been revoked since it was verified. */
  isRevoked(claims: ConnectionClaims): Promise<boolean>;
}

/** Whether the upgrade's Origin may connect (browser pages of origins that are not allowed may not). */
export type OriginCheck = (req: http.IncomingMessage) => boolean;

/** The request id of an upgrade: the client's X-Request-Id when it is sane, else a fresh one. */
export type RequestIdOf = (given: string | string[] | undefined) => string;

export interface UpgradeDeps {
  server: http.Server;
  ws: Config['ws'];
  tokens: TokenVerifier;
  allowOrigin: OriginCheck;
  requestIdOf: RequestIdOf;
  registry: ConnectionRegistry;
  lease: LeaseKeeper;
  /** Open connections of the user on this instance. */
  held: (userId: string) => number;
  metrics: Metrics;
  logger: Logger;
  outageWarning: (err: AppError, fields: Record<string, unknown>) => void;
  /** The upgrade succeeded: serve the connection (`firstAnywhere`: the user's first on any instance). */
  attach: (ws: GatewaySocket, claims: ConnectionClaims, firstAnywhere: boolean) => void;
  /** The token was found revoked right after its connection was attached. */
  revoked: (claims: ConnectionClaims) => void;
}

const STATUS_TEXT: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function ignoreError(): void {}

/** The token from `?token=` or `Authorization: Bearer`. */
function tokenOf(req: http.IncomingMessage, query: string): string | null {
  const auth = req.headers.authorization;
  if (auth && /^Bearer /i.test(auth)) return auth.slice(7).trim() || null;
  if (!query) return null;
  const token = new URLSearchParams(query).get('token');
  return token || null;
}

/**
 * Admits WebSocket upgrades on `/ws`: checks the path, the origin, the token and the connection limit,
 * counts the connection in the registry, then upgrades. A refusal is a plain HTTP error in the contract's
 * envelope. (Described in the OpenAPI document's introduction and docs/websocket.md: OpenAPI has no
 * operation for an upgrade, whose success is 101.)
 */
export class UpgradeHandler {
  private readonly wss: WebSocketServer;
  private accepting = false;
  private stopped = false;

  constructor(private readonly deps: UpgradeDeps) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: deps.ws.maxFrameBytes,
      WebSocket: GatewaySocket,
    });
  }

  /** Starts accepting upgrades. */
  start(): void {
    this.deps.server.on('upgrade', this.onUpgrade);
    this.accepting = true;
  }

  /** Refuses new upgrades with 503 from now on (first shutdown phase). */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Refuses new upgrades and stops reporting failures of those in flight (shutdown began). */
  stop(): void {
    this.accepting = false;
    this.stopped = true;
  }

  /** Stops listening for upgrades and releases the WebSocket server (after the connections were closed). */
  close(): void {
    this.deps.server.off('upgrade', this.onUpgrade);
    this.wss.close();
  }

  private readonly onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', ignoreError);
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    if (pathname !== '/ws' && pathname !== '/ws/') {
      this.refuse(req, socket, 404, 'NOT_FOUND', 'Not found');
      return;
    }
    if (!this.deps.allowOrigin(req)) {
      this.refuse(req, socket, 403, 'FORBIDDEN', 'Origin not allowed');
      return;
    }
    if (!this.accepting) {
      this.refuse(req, socket, 503, 'UNAVAILABLE', 'Server is shutting down', { 'Retry-After': '2' });
      return;
    }
    const token = tokenOf(req, q < 0 ? '' : url.slice(q + 1));
    if (!token) {
      this.refuse(req, socket, 401, 'UNAUTHENTICATED', 'Authentication required');
      return;
    }
    this.admit(req, socket, head, token).catch((err: unknown) => {
      const app = toAppError(err);
      if (app.status === 503) {
        this.deps.outageWarning(app, { upgrade: true });
        this.refuse(req, socket, 503, app.code, app.message, app.headers);
        return;
      }
      this.deps.logger.error({ err, url: redactUrl(url) }, 'websocket upgrade failed');
      this.refuse(req, socket, 500, 'INTERNAL', 'Internal server error');
    });
  };

  private async admit(req: http.IncomingMessage, socket: Duplex, head: Buffer, token: string): Promise<void> {
    const { lease, registry } = this.deps;
    let claims: ConnectionClaims;
    try {
      claims = await this.deps.tokens.verify(token);
    } catch (err) {
      if (err instanceof AppError && err.status === 401) {
        this.refuse(req, socket, 401, err.code, err.message);
        return;
      }
      throw err;
    }
    const userId = claims.userId;
    const max = this.deps.ws.maxConnectionsPerUser;
    if (socket.destroyed) return;
    if (this.deps.held(userId) >= max) {
      this.refuse(req, socket, 429, 'TOO_MANY_CONNECTIONS', `At most ${max} connections per user`);
      return;
    }
    const epoch = lease.epoch;
    lease.beginConnect(userId);
    let before: number;
    try {
      before = await registry.connect(userId, max);
    } catch (err) {
      // Whether or not the registry counted it, the next renewal writes the entries from the connections held.
      lease.markDirty();
      throw err;
    } finally {
      lease.endConnect(userId);
    }
    if (before < 0) {
      // Entries rewritten while this connect was pending counted it, though the registry refused it.
      if (epoch !== lease.epoch) lease.markDirty();
      this.refuse(req, socket, 429, 'TOO_MANY_CONNECTIONS', `At most ${max} connections per user`);
      return;
    }
    let attached = false;
    if (!socket.destroyed && this.accepting) {
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        attached = true;
        socket.removeListener('error', ignoreError);
        this.deps.attach(ws as GatewaySocket, claims, before === 0);
      });
    }
    if (!attached) {
      socket.destroy();
      await registry.disconnect(userId).catch(() => lease.markDirty());
      return;
    }
    this.recheckRevocation(claims);
  }

  /**
   * A revocation stored after `verify` read it but routed before `connect` listed this instance never
   * reaches it. Reading the revocation again after `connect` (and after the socket joined the connection
   * table, so a later routed revocation finds it) closes that gap: either the revocation is visible here
   * or its routing came after `connect` and reaches this instance.
   */
  private recheckRevocation(claims: ConnectionClaims): void {
    this.deps.tokens
      .isRevoked(claims)
      .then((revoked) => {
        if (revoked) this.deps.revoked(claims);
      })
      .catch((err: unknown) => {
        if (!this.stopped)
          this.deps.logger.warn({ err, userId: claims.userId }, 'revocation re-check after upgrade failed');
      });
  }

  /** Answers a refused upgrade in the contract's error envelope, with its X-Request-Id like any response. */
  private refuse(
    req: http.IncomingMessage,
    socket: Duplex,
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
  ): void {
    this.deps.metrics.wsUpgradesRefused.inc({ status: String(status) });
    const requestId = this.deps.requestIdOf(req.headers['x-request-id']);
    this.deps.logger.info({ reqId: requestId, status, errorCode: code }, 'websocket upgrade refused');
    if (socket.destroyed) return;
    const body = JSON.stringify({ error: { code, message, requestId } });
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
        'Connection: close\r\n' +
        Object.entries(headers)
          .map(([name, value]) => `${name}: ${value}\r\n`)
          .join('') +
        `X-Request-Id: ${requestId}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
}

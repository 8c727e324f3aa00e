import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Config } from '../config';
import type { RedisClients } from '../infra/redis';
import type { AccountCutOff } from '../modules/accounts/accounts.service';
import {
  revokedBy,
  type RevokeBefore,
  type RevocationListener,
  type TokenClaims,
  type TokenService,
} from '../modules/accounts/tokens';
import { AppError, NotFoundError, RateLimitedError, toAppError, ValidationError } from '../shared/errors';
import { LogThrottle } from '../shared/log-throttle';
import { newId } from '../shared/ids';
import { requestIdOf } from '../http/middleware';
import { redactUrl, type Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import { errorEvent, FrameError, parseClientFrame } from './frames';
import type {
  Broadcast,
  BroadcastOptions,
  ClientFrame,
  DeliverOptions,
  Delivery,
  FrameContext,
  FrameHandler,
  FrameRouter,
  PresenceAudience,
  ServerEvent,
} from './gateway.types';
import { LocalOptOuts, type OptOutSource } from './opt-outs';
import { PresenceService, type PresenceChoices } from './presence';
import { DeliveryBacklog } from './backlog';
import { ConnectionRegistry } from './registry';

/** Close codes the gateway uses (see docs/websocket.md). */
export const CloseCode = {
  GoingAway: 1001,
  PolicyViolation: 1008,
  TooBig: 1009,
  TryAgainLater: 1013,
  /** The token was revoked (logout, password change) or expired: log in again, never reconnect with it. */
  TokenInvalid: 4001,
  /** The account was disabled or deleted: do not reconnect. */
  AccountInactive: 4003,
} as const;

/**
 * Header type of the control message that asks an instance to close connections whose token was revoked
 * (`<type>\n<userId>\n<json>` on its channel, like a routed event). The NUL makes it unlike any event type.
 */
const REVOKE_TYPE = '\u0000revoke';
/** Control message: the listed users' accounts are no longer active; close all their connections (4003). */
const CUTOFF_TYPE = '\u0000cutoff';
/** Control message: the listed users opted out of broadcasts (payload `1`) or back in (`0`). */
const OPT_OUT_TYPE = '\u0000optout';

/** Header type of the control message that asks an instance to send `resync` to all of its connections. */
const RESYNC_ALL_TYPE = '\u0000resync';

/** The event telling a client that it may have missed events: page each conversation with `afterSeq`. */
const RESYNC_EVENT: ServerEvent = { type: 'resync', data: {} };

/** The payload of a revocation control message: one token, or all tokens issued at or before `before` but `keep`. */
type Revocation = { jti: string } | RevokeBefore;

/** Rejected frames a connection may accumulate (in seconds of its frame budget) before it is closed. */
const STRIKE_SECONDS = 5;
/** How long shutdown waits for clients to answer the 1001 close before cutting them. */
const CLOSE_GRACE_MS = 1000;

/**
 * One client connection. Its state lives on the socket object itself and its listeners are shared
 * module-level functions, so an idle connection costs only what `ws` and the TCP socket need.
 */
class GatewaySocket extends WebSocket {
  gateway: Gateway | null = null;
  userId = '';
  connectionId = '';
  alive = true;
  tokens = 0;
  refilledAt = 0;
  strikes = 0;
  /** The token's id, issue time and expiry (ms): revocations and expiry end the connection. */
  jti = '';
  issuedAt = 0;
  expiresAt = 0;
  /** Whether the TCP socket is corked until the current callback's promise reactions are done (see `Gateway.write`). */
  corked = false;
  /** When the connection opened (ms), for the close log line. */
  openedAt = 0;
  /** The close code and reason the server chose (0 while the server has not closed it), for the close log line. */
  closeCode = 0;
  closeReason = '';
}

/** The TCP socket under a WebSocket (`ws` keeps it as `_socket`; null once it is gone). */
function tcpOf(ws: WebSocket): Duplex | null {
  return (ws as unknown as { _socket?: Duplex | null })._socket ?? null;
}

function onSocketMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const ws = this as GatewaySocket;
  // A closing connection (revoked token, rate abuse, ...) may still receive frames until the handshake ends.
  if (ws.readyState !== WebSocket.OPEN) return;
  ws.alive = true;
  ws.gateway?.handleFrame(ws, data, isBinary);
}

function onSocketPong(this: WebSocket): void {
  (this as GatewaySocket).alive = true;
}

function onSocketClose(this: WebSocket, code: number, reason: Buffer): void {
  (this as GatewaySocket).gateway?.detach(this as GatewaySocket, code, reason);
}

function onSocketError(this: WebSocket, err: Error): void {
  (this as GatewaySocket).gateway?.socketError(this as GatewaySocket, err);
}

function ignoreError(): void {}

export interface GatewayDeps {
  server: http.Server;
  ws: Config['ws'];
  presenceTtlSeconds: number;
  tokens: TokenService;
  redis: RedisClients;
  choices: PresenceChoices;
  /** Who hears about a user's presence changes (their friends). */
  presenceAudience: PresenceAudience;
  /** Which users opted out of broadcasts (muted the world channel). */
  optOuts: OptOutSource;
  /** Which of these users' accounts are no longer active (disabled, deleted or gone). */
  inactiveAmong: (userIds: string[]) => Promise<Set<string>>;
  logger: Logger;
  metrics: Metrics;
  /** Whether the upgrade's Origin may connect (browser pages of origins that are not allowed may not). */
  allowOrigin: (req: http.IncomingMessage) => boolean;
}

const TEXT = { binary: false };
const STATUS_TEXT: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * The WebSocket gateway of one instance: authenticates upgrades on `/ws`, holds the local
 * connections, routes events to other instances through Redis, and keeps presence.
 */
export class Gateway implements Delivery, Broadcast, FrameRouter, RevocationListener, AccountCutOff {
  /** This instance's id in the Redis registry. */
  readonly instanceId = newId();
  readonly delivery: Delivery = this;
  readonly broadcaster: Broadcast = this;
  readonly frames: FrameRouter = this;
  /** Closes the connections of revoked tokens, here and on the other instances (on `TokenRevoked`, `SessionsRevoked`). */
  readonly revocations: RevocationListener = this;
  /** Closes the connections of deactivated accounts, here and on the other instances. */
  readonly cutOff: AccountCutOff = this;
  readonly presence: PresenceService;

  private readonly registry: ConnectionRegistry;
  private readonly wss: WebSocketServer;
  private readonly users = new Map<string, GatewaySocket[]>();
  private readonly handlers = new Map<string, FrameHandler>();
  private readonly channel: string;
  /** The channel every instance subscribes to for broadcasts. */
  private readonly broadcastChannel: string;
  private readonly optOuts: LocalOptOuts;
  private readonly log: Logger;
  private readonly outages: LogThrottle;
  private connections = 0;
  private accepting = false;
  private stopping = false;
  private leaseBusy = false;
  /** A renewal was asked for while one ran (after a reconnection): run again when it ends. */
  private leaseAgain = false;
  /** Redis may have lost this instance's entries and lease (the command client reconnected). */
  private registryLost = false;
  /** The entries may not match the connections held here (a connect or disconnect failed). */
  private registryDirty = false;
  /** The subscriber reconnected: subscribe again, then tell the connections to resync. */
  private resubscribe = false;
  /** Events for this instance's connections may have been lost; `resync` goes out once Redis is whole again. */
  private resyncOwed = false;
  /** How many times the entries were rewritten (a refused connect that overlapped one leaves them dirty). */
  private reconciles = 0;
  /** Connections being counted in Redis but not yet attached, per user (entries rewritten meanwhile count them). */
  private readonly connecting = new Map<string, number>();
  /** Users on other instances whose events Redis failed to carry, and revocations to route again. */
  private readonly backlog = new DeliveryBacklog<{ userId: string; revocation: Revocation }>();
  private pingTimer: NodeJS.Timeout | null = null;
  private leaseTimer: NodeJS.Timeout | null = null;
  private accountTimer: NodeJS.Timeout | null = null;
  private checkingAccounts = false;

  constructor(private readonly deps: GatewayDeps) {
    this.log = deps.logger.child({ component: 'gateway', instanceId: this.instanceId });
    this.outages = new LogThrottle(this.log);
    this.registry = new ConnectionRegistry(deps.redis.command, deps.redis.keys, this.instanceId);
    this.channel = this.registry.channelOf(this.instanceId);
    this.broadcastChannel = deps.redis.keys.key('gw', 'all');
    this.optOuts = new LocalOptOuts(deps.optOuts, (err, userId) =>
      this.log.warn({ err, userId }, 'broadcast opt-out read failed; the user gets broadcasts'),
    );
    this.presence = new PresenceService({
      registry: this.registry,
      delivery: this,
      choices: deps.choices,
      audience: deps.presenceAudience,
      logger: this.log,
    });
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: deps.ws.maxFrameBytes,
      WebSocket: GatewaySocket,
    });
  }

  /** Registers this instance in Redis, subscribes to its channel and starts accepting upgrades. */
  async start(): Promise<void> {
    await this.renewLease();
    this.deps.redis.subscriber.on('message', this.onRoutedMessage);
    await this.deps.redis.subscriber.subscribe(this.channel, this.broadcastChannel);
    // Every `ready` from now on follows a lost connection (the first came before start).
    this.deps.redis.command.on('ready', this.onCommandReady);
    this.deps.redis.subscriber.on('ready', this.onSubscriberReady);
    this.deps.server.on('upgrade', this.onUpgrade);
    const leaseMs = Math.max(250, Math.floor((this.deps.presenceTtlSeconds * 1000) / 3));
    this.leaseTimer = setInterval(() => void this.renewLease(), leaseMs);
    this.leaseTimer.unref();
    if (this.deps.ws.pingIntervalSeconds > 0) {
      this.pingTimer = setInterval(() => this.sweep(), this.deps.ws.pingIntervalSeconds * 1000);
      this.pingTimer.unref();
    }
    this.accountTimer = setInterval(() => void this.checkAccounts(), this.deps.ws.accountCheckSeconds * 1000);
    this.accountTimer.unref();
    this.accepting = true;
    this.log.info('gateway ready');
  }

  /** Refuses new upgrades from now on (first shutdown phase). */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Closes every connection with 1001, withdraws this instance from Redis and unsubscribes. */
  async stop(): Promise<void> {
    this.accepting = false;
    this.stopping = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    if (this.accountTimer) clearInterval(this.accountTimer);
    const all = this.allSockets();
    for (const ws of all) closeWith(ws, CloseCode.GoingAway, 'server shutting down');
    const deadline = Date.now() + CLOSE_GRACE_MS;
    while (this.connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    for (const ws of this.allSockets()) terminateWith(ws, 'server shutting down');
    this.deps.server.off('upgrade', this.onUpgrade);
    try {
      const offline = await this.registry.leave();
      await this.presence.wentOfflineNow(offline);
    } finally {
      this.deps.redis.subscriber.off('message', this.onRoutedMessage);
      this.deps.redis.command.off('ready', this.onCommandReady);
      this.deps.redis.subscriber.off('ready', this.onSubscriberReady);
      await this.deps.redis.subscriber
        .unsubscribe(this.channel, this.broadcastChannel)
        .catch(() => undefined);
      this.wss.close();
    }
  }

  /** Registers the handler of a client frame type (`ping` is answered by the gateway itself). */
  onFrame(type: string, handler: FrameHandler): void {
    if (type === 'ping' || this.handlers.has(type)) throw new Error(`frame type ${type} already handled`);
    this.handlers.set(type, handler);
  }

  /** Sends the event to every connection of these users: local ones directly, others through one message per instance. */
  async deliver(userIds: readonly string[], event: ServerEvent, options?: DeliverOptions): Promise<void> {
    if (userIds.length === 0) return;
    const targets = userIds.length === 1 ? userIds : [...new Set(userIds)];
    const payload = JSON.stringify(event);
    // A connection id names one socket of this instance (a frame's origin), so only the local send skips it.
    this.sendLocal(targets, Buffer.from(payload), event.type, options?.exceptConnectionId);
    try {
      await this.route(targets, event.type, payload);
    } catch (err) {
      // The event is stored (clients can page it); those elsewhere get a `resync` once Redis answers.
      this.backlog.missed(targets);
      this.outageWarning(toAppError(err), { routing: event.type });
      return;
    }
    if (!this.backlog.empty) void this.renewLease();
  }

  /**
   * Sends the event to every connection on every instance: the local ones directly, the others through one
   * message on the broadcast channel, which every instance receives. Users who opted out are skipped unless
   * `includeOptedOut`; the cost grows with the connected users, never with the registered ones.
   */
  async broadcast(event: ServerEvent, options: BroadcastOptions = {}): Promise<void> {
    const payload = JSON.stringify(event);
    const everyone = options.includeOptedOut === true;
    this.broadcastLocal(Buffer.from(payload), event.type, everyone, options.exceptConnectionId);
    try {
      await this.deps.redis.command.publish(
        this.broadcastChannel,
        `${event.type}\n${this.instanceId}\n${everyone ? 1 : 0}\n${payload}`,
      );
    } catch (err) {
      // Stored already: every other instance's connections get a `resync` once Redis answers.
      this.backlog.missedByEveryone();
      this.outageWarning(toAppError(err), { routing: event.type });
      void this.renewLease();
      return;
    }
    this.deps.metrics.gatewayRouted.inc({ direction: 'published' });
  }

  /** Applies the user's changed opt-out here and on the other instances holding them. */
  async optOutChanged(userId: string, optedOut: boolean): Promise<void> {
    this.optOuts.changed(userId, optedOut);
    await this.route([userId], OPT_OUT_TYPE, optedOut ? '1' : '0');
  }

  /** Closes every connection of the user with 4003, on every instance (the account was disabled or deleted). */
  async accountDeactivated(userId: string): Promise<void> {
    this.closeInactive(userId);
    await this.route([userId], CUTOFF_TYPE, '');
  }

  /** Publishes `<type>\n<userIds>\n<payload>` to the other instances holding these users, and counts it. */
  private async route(userIds: readonly string[], type: string, payload: string): Promise<void> {
    const instances = await this.registry.route(userIds, type, payload);
    if (instances) this.deps.metrics.gatewayRouted.inc({ direction: 'published' }, instances);
  }

  /** Closes this instance's connections of `userId` with 4003 `account disabled`. */
  private closeInactive(userId: string): void {
    const list = this.users.get(userId);
    if (!list) return;
    for (const ws of [...list]) closeWith(ws, CloseCode.AccountInactive, 'account disabled');
  }

  /**
   * Closes the connections of accounts whose status was changed without the service (by SQL): one read of
   * the local users' statuses per 1000 users, every `ws.accountCheckSeconds`.
   */
  private async checkAccounts(): Promise<void> {
    if (this.checkingAccounts || this.stopping || this.users.size === 0) return;
    this.checkingAccounts = true;
    try {
      const ids = [...this.users.keys()];
      for (let start = 0; start < ids.length; start += 1000) {
        const inactive = await this.deps.inactiveAmong(ids.slice(start, start + 1000));
        for (const userId of inactive) {
          this.log.info({ userId }, 'account no longer active; closing its connections');
          this.closeInactive(userId);
        }
      }
    } catch (err) {
      this.log.warn({ err }, 'account status check failed; will retry');
    } finally {
      this.checkingAccounts = false;
    }
  }

  /** Closes every connection of the user holding token `jti`, on any instance (logout). */
  tokenRevoked(userId: string, jti: string): Promise<void> {
    return this.revoke(userId, { jti });
  }

  /** Closes every connection of the user whose token was issued at or before `before`, except `keepJti`, on any instance. */
  tokensRevokedBefore(userId: string, before: number, keepJti: string | null): Promise<void> {
    return this.revoke(userId, { before, keep: keepJti });
  }

  /** Closes the matching local connections, then asks only the other instances holding the user to do the same. */
  private async revoke(userId: string, revocation: Revocation): Promise<void> {
    this.closeRevoked(userId, revocation);
    try {
      await this.route([userId], REVOKE_TYPE, JSON.stringify(revocation));
    } catch (err) {
      // The revocation is stored; routing it again once Redis answers closes the connections elsewhere.
      this.backlog.control({ userId, revocation });
      this.outageWarning(toAppError(err), { routing: 'revocation' });
    }
  }

  /** Closes with 4001 this instance's connections of `userId` whose token the revocation covers. */
  private closeRevoked(userId: string, revocation: Revocation): void {
    const list = this.users.get(userId);
    if (!list) return;
    for (const ws of [...list]) {
      if (covers(revocation, ws.jti, ws.issuedAt)) closeWith(ws, CloseCode.TokenInvalid, 'token revoked');
    }
  }

  /** Open connections on this instance, of one user or in all. */
  connectionCount(userId?: string): number {
    return userId === undefined ? this.connections : (this.users.get(userId)?.length ?? 0);
  }

  /** Handles one client frame (called by the socket's shared listener). */
  handleFrame(ws: GatewaySocket, data: RawData, isBinary: boolean): void {
    if (!this.takeToken(ws)) return;
    if (isBinary) {
      this.send(ws, errorEvent(null, new ValidationError('Binary frames are not supported')));
      return;
    }
    let frame: ClientFrame;
    try {
      frame = parseClientFrame(data.toString());
    } catch (err) {
      const fe = err as FrameError;
      this.deps.metrics.wsFramesReceived.inc({ type: 'invalid' });
      this.send(ws, errorEvent(fe.frameId, fe.error));
      return;
    }
    const id = frame.id ?? null;
    if (frame.type === 'ping') {
      this.deps.metrics.wsFramesReceived.inc({ type: 'ping' });
      this.send(ws, { type: 'pong', data: {} });
      return;
    }
    const handler = this.handlers.get(frame.type);
    if (!handler) {
      this.deps.metrics.wsFramesReceived.inc({ type: 'unknown' });
      this.send(ws, errorEvent(id, new NotFoundError(`Unknown frame type ${frame.type}`, 'UNKNOWN_FRAME')));
      return;
    }
    this.deps.metrics.wsFramesReceived.inc({ type: frame.type });
    const ctx: FrameContext = {
      userId: ws.userId,
      connectionId: ws.connectionId,
      reply: (event) => this.send(ws, event),
    };
    Promise.resolve()
      .then(() => handler(ctx, frame))
      .catch((err: unknown) => {
        const app = toAppError(err);
        if (app.status === 503) this.outageWarning(app, { frameType: frame.type });
        else if (!(err instanceof AppError)) {
          this.log.error({ err, frameType: frame.type, userId: ws.userId }, 'frame handler failed');
        }
        this.send(ws, errorEvent(id, app));
      });
  }

  /** Forgets a closed connection; announces the user offline when it was their last anywhere. */
  detach(ws: GatewaySocket, code: number, reason: Buffer): void {
    const list = this.users.get(ws.userId);
    if (!list) return;
    const at = list.indexOf(ws);
    if (at < 0) return;
    if (list.length === 1) {
      this.users.delete(ws.userId);
      this.optOuts.forget(ws.userId);
    } else list.splice(at, 1);
    this.connections--;
    this.deps.metrics.wsConnections.dec();
    this.deps.metrics.wsClosed.inc({ code: String(code) });
    const byServer = ws.closeCode !== 0;
    this.log.info(
      {
        userId: ws.userId,
        connectionId: ws.connectionId,
        code: byServer ? ws.closeCode : code,
        reason: byServer ? ws.closeReason : reason.toString('utf8').slice(0, 123),
        closedBy: byServer ? 'server' : 'client',
        durationMs: Date.now() - ws.openedAt,
      },
      'websocket closed',
    );
    if (this.stopping) return;
    this.unregister(ws.userId);
  }

  /** Uncounts one connection in Redis; after a failure the next lease renewal rewrites the entries, so counts never drift up. */
  private unregister(userId: string): void {
    this.registry
      .disconnect(userId)
      .then((left) => {
        if (left === 0) this.presence.wentOffline([userId]);
      })
      .catch((err: unknown) => {
        this.registryDirty = true;
        this.outageWarning(toAppError(err), { registry: 'disconnect' });
      });
  }

  /** A dependency out of reach failed a frame or an upgrade: a warning without a stack, at a bounded rate. */
  private outageWarning(err: AppError, fields: Record<string, unknown>): void {
    this.outages.outage(err, fields, 'dependency unavailable');
  }

  /** Logs a protocol error of one connection (ws closes it with the matching code). */
  socketError(ws: GatewaySocket, err: Error): void {
    if (ws.closeCode === 0) {
      ws.closeCode = protocolCloseCode(err);
      ws.closeReason = err.message;
    }
    this.log.debug({ err: err.message, userId: ws.userId }, 'websocket protocol error');
  }

  /**
   * Checks the path, the origin, the token and the connection limit, then upgrades; a refusal is a plain HTTP error in the
   * contract's envelope. (Described in the OpenAPI document's introduction and docs/websocket.md: OpenAPI has
   * no operation for an upgrade, whose success is 101.)
   */
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
        this.outageWarning(app, { upgrade: true });
        this.refuse(req, socket, 503, app.code, app.message, app.headers);
        return;
      }
      this.log.error({ err, url: redactUrl(url) }, 'websocket upgrade failed');
      this.refuse(req, socket, 500, 'INTERNAL', 'Internal server error');
    });
  };

  private async admit(req: http.IncomingMessage, socket: Duplex, head: Buffer, token: string): Promise<void> {
    let claims: TokenClaims;
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
    if (this.connectionCount(userId) >= max) {
      this.refuse(req, socket, 429, 'TOO_MANY_CONNECTIONS', `At most ${max} connections per user`);
      return;
    }
    const epoch = this.reconciles;
    this.connecting.set(userId, (this.connecting.get(userId) ?? 0) + 1);
    let before: number;
    try {
      before = await this.registry.connect(userId, max);
    } catch (err) {
      // Whether or not Redis counted it, the next renewal writes the entries from the connections held.
      this.registryDirty = true;
      throw err;
    } finally {
      const n = (this.connecting.get(userId) ?? 1) - 1;
      if (n > 0) this.connecting.set(userId, n);
      else this.connecting.delete(userId);
    }
    if (before < 0) {
      // Entries rewritten while this connect was pending counted it, though Redis refused it.
      if (epoch !== this.reconciles) this.registryDirty = true;
      this.refuse(req, socket, 429, 'TOO_MANY_CONNECTIONS', `At most ${max} connections per user`);
      return;
    }
    let attached = false;
    if (!socket.destroyed && this.accepting) {
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        attached = true;
        socket.removeListener('error', ignoreError);
        this.attach(ws as GatewaySocket, claims, before === 0);
      });
    }
    if (!attached) {
      socket.destroy();
      await this.registry.disconnect(userId).catch(() => {
        this.registryDirty = true;
      });
      return;
    }
    this.recheckRevocation(claims);
  }

  /**
   * A revocation stored after `verify` read Redis but routed before `CONNECT` listed this instance never
   * reaches it. Reading the revocation again after `CONNECT` (and after the socket joined `users`, so a
   * later routed revocation finds it) closes that gap: Redis runs this read after `CONNECT`, so either the
   * revocation is visible here or its `ROUTE` came after `CONNECT` and publishes to this instance.
   */
  private recheckRevocation(claims: TokenClaims): void {
    this.deps.tokens
      .isRevoked(claims)
      .then((revoked) => {
        if (revoked) this.closeRevoked(claims.userId, { jti: claims.jti });
      })
      .catch((err: unknown) => {
        if (!this.stopping)
          this.log.warn({ err, userId: claims.userId }, 'revocation re-check after upgrade failed');
      });
  }

  private attach(ws: GatewaySocket, claims: TokenClaims, firstAnywhere: boolean): void {
    const userId = claims.userId;
    ws.gateway = this;
    ws.userId = userId;
    ws.connectionId = newId();
    ws.jti = claims.jti;
    ws.issuedAt = claims.issuedAt;
    ws.expiresAt = claims.expiresAt;
    ws.tokens = this.deps.ws.framesPerSecond;
    ws.refilledAt = Date.now();
    ws.openedAt = ws.refilledAt;
    const list = this.users.get(userId);
    if (list) list.push(ws);
    else {
      this.users.set(userId, [ws]);
      this.optOuts.refresh(userId);
    }
    this.connections++;
    this.deps.metrics.wsConnections.inc();
    ws.on('message', onSocketMessage);
    ws.on('pong', onSocketPong);
    ws.on('close', onSocketClose);
    ws.on('error', onSocketError);
    this.send(ws, { type: 'ready', data: { userId, connectionId: ws.connectionId } });
    this.log.info({ userId, connectionId: ws.connectionId }, 'websocket connected');
    if (firstAnywhere) this.presence.cameOnline(userId);
  }

  /** Token bucket of `framesPerSecond`; refusals accumulate as strikes that decay at half that rate. */
  private takeToken(ws: GatewaySocket): boolean {
    const rate = this.deps.ws.framesPerSecond;
    if (rate === 0) return true;
    const now = Date.now();
    const elapsed = (now - ws.refilledAt) / 1000;
    ws.refilledAt = now;
    ws.tokens = Math.min(rate, ws.tokens + elapsed * rate);
    if (ws.strikes > 0) ws.strikes = Math.max(0, ws.strikes - (elapsed * rate) / 2);
    if (ws.tokens >= 1) {
      ws.tokens -= 1;
      return true;
    }
    ws.strikes += 1;
    this.deps.metrics.wsFramesReceived.inc({ type: 'rate_limited' });
    if (ws.strikes > rate * STRIKE_SECONDS) {
      closeWith(ws, CloseCode.PolicyViolation, 'frame rate limit exceeded');
    } else {
      this.send(ws, errorEvent(null, new RateLimitedError(1 / rate, 'Too many frames; slow down')));
    }
    return false;
  }

  private send(ws: GatewaySocket, event: ServerEvent): void {
    if (this.write(ws, Buffer.from(JSON.stringify(event)))) {
      this.deps.metrics.wsEvents.inc({ type: event.type });
    }
  }

  /** Writes a serialised frame; closes with 1013 a connection whose send buffer is already past the limit. */
  private write(ws: GatewaySocket, payload: Buffer): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false;
    if (ws.bufferedAmount > this.deps.ws.maxBufferedBytes) {
      this.deps.metrics.wsSlowClosed.inc();
      closeWith(ws, CloseCode.TryAgainLater, 'send buffer full; re-sync');
      return false;
    }
    if (!ws.corked) {
      // Frames written to one socket while one I/O callback and the promise reactions it sets off run (the
      // acks and events of a committed batch, say) leave in one system call: the socket stays corked until
      // the microtask queue is drained (a nextTick callback runs only after that), not for a whole loop turn.
      const tcp = tcpOf(ws);
      if (tcp) {
        tcp.cork();
        ws.corked = true;
        this.corkedSockets.push(ws);
        if (this.corkedSockets.length === 1) process.nextTick(this.uncorkAll);
      }
    }
    ws.send(payload, TEXT);
    return true;
  }

  /** Sockets corked by `write` since the last flush. */
  private corkedSockets: GatewaySocket[] = [];

  private readonly uncorkAll = (): void => {
    const list = this.corkedSockets;
    this.corkedSockets = [];
    for (const ws of list) {
      ws.corked = false;
      tcpOf(ws)?.uncork();
    }
  };

  private sendLocal(userIds: readonly string[], payload: Buffer, type: string, except?: string): void {
    let sent = 0;
    for (const userId of userIds) {
      const list = this.users.get(userId);
      if (!list) continue;
      for (const ws of list) if (ws.connectionId !== except && this.write(ws, payload)) sent++;
    }
    if (sent) this.deps.metrics.wsEvents.inc({ type }, sent);
  }

  /**
   * `<type>\n<userId,userId,...>\n<payload>` published by another instance to this one's channel: an event
   * to write to those users' connections, or a control message (a type starting with NUL): a revocation or
   * an account cut-off whose connections to close, or a broadcast opt-out to apply. Broadcasts arrive on
   * their own channel.
   */
  private readonly onRoutedMessage = (channel: string, message: string): void => {
    if (channel === this.broadcastChannel) {
      this.onBroadcast(message);
      return;
    }
    if (channel !== this.channel) return;
    const a = message.indexOf('\n');
    const b = message.indexOf('\n', a + 1);
    if (a < 0 || b < 0) return;
    this.deps.metrics.gatewayRouted.inc({ direction: 'received' });
    if (message.charCodeAt(0) === 0) {
      const type = message.slice(0, a);
      const userIds = message.slice(a + 1, b).split(',');
      if (type === RESYNC_ALL_TYPE) {
        this.resyncLocal('peer');
      } else if (type === CUTOFF_TYPE) {
        for (const userId of userIds) this.closeInactive(userId);
      } else if (type === OPT_OUT_TYPE) {
        const optedOut = message.slice(b + 1) === '1';
        for (const userId of userIds) this.optOuts.changed(userId, optedOut);
      } else if (type === REVOKE_TYPE) {
        let revocation: Revocation;
        try {
          revocation = JSON.parse(message.slice(b + 1)) as Revocation;
        } catch {
          return;
        }
        for (const userId of userIds) this.closeRevoked(userId, revocation);
      }
      return;
    }
    this.sendLocal(
      message.slice(a + 1, b).split(','),
      Buffer.from(message.slice(b + 1)),
      message.slice(0, a),
    );
  };

  /** `<type>\n<originInstanceId>\n<1 = includeOptedOut>\n<payload>` from the broadcast channel. */
  private onBroadcast(message: string): void {
    const a = message.indexOf('\n');
    const b = message.indexOf('\n', a + 1);
    const c = message.indexOf('\n', b + 1);
    if (a < 0 || b < 0 || c < 0 || message.slice(a + 1, b) === this.instanceId) return;
    this.deps.metrics.gatewayRouted.inc({ direction: 'received' });
    this.broadcastLocal(
      Buffer.from(message.slice(c + 1)),
      message.slice(0, a),
      message.slice(b + 1, c) === '1',
    );
  }

  /**
   * Writes a broadcast to every local connection, skipping the users who opted out unless `everyone`;
   * returns how many connections it was written to.
   */
  private broadcastLocal(payload: Buffer, type: string, everyone: boolean, except?: string): number {
    let sent = 0;
    for (const [userId, list] of this.users) {
      if (!everyone && this.optOuts.has(userId)) continue;
      for (const ws of list) if (ws.connectionId !== except && this.write(ws, payload)) sent++;
    }
    if (sent) this.deps.metrics.wsEvents.inc({ type }, sent);
    return sent;
  }

  /**
   * One timer for all connections: drops those that missed the last ping, closes with 4001 those whose
   * token has expired, pings the rest.
   */
  private sweep(): void {
    const dead: GatewaySocket[] = [];
    const expired: GatewaySocket[] = [];
    const now = Date.now();
    for (const list of this.users.values()) {
      for (const ws of list) {
        if (!ws.alive) dead.push(ws);
        else if (ws.expiresAt <= now) {
          if (ws.readyState === WebSocket.OPEN) expired.push(ws);
        } else {
          ws.alive = false;
          if (ws.readyState === WebSocket.OPEN) ws.ping();
        }
      }
    }
    for (const ws of dead) {
      this.deps.metrics.wsHeartbeatDropped.inc();
      terminateWith(ws, 'heartbeat missed');
    }
    for (const ws of expired) closeWith(ws, CloseCode.TokenInvalid, 'token expired');
  }

  /** The command client reconnected: Redis may have restarted empty, without this instance's entries. */
  private readonly onCommandReady = (): void => {
    this.registryLost = true;
    void this.renewLease();
  };

  /** The subscriber reconnected: events published to this instance meanwhile were lost. */
  private readonly onSubscriberReady = (): void => {
    this.resubscribe = true;
    void this.renewLease();
  };

  /** Runs a lease renewal now, or once more after the one running (which may have started before a reconnection). */
  private async renewLease(): Promise<void> {
    if (this.stopping) return;
    if (this.leaseBusy) {
      this.leaseAgain = true;
      return;
    }
    this.leaseBusy = true;
    try {
      do {
        this.leaseAgain = false;
        try {
          await this.renewLeaseOnce();
        } catch (err) {
          this.outageWarning(toAppError(err), { lease: true });
        }
      } while (this.leaseAgain && !this.stopping);
    } finally {
      this.leaseBusy = false;
    }
  }

  /**
   * Extends this instance's lease; after Redis lost or swept its entries, or a registry update failed, writes
   * them again from the connections held here; once the entries and the subscription are whole again after
   * events may have been lost, sends `resync` to every connection here; routes what Redis failed to carry;
   * cleans up after dead instances.
   */
  private async renewLeaseOnce(): Promise<void> {
    const { subscriber } = this.deps.redis;
    if (this.resubscribe) {
      this.resubscribe = false;
      try {
        await subscriber.subscribe(this.channel, this.broadcastChannel);
      } catch (err) {
        this.resubscribe = true;
        throw err;
      }
      this.resyncOwed = true;
    }
    const { lapsed, dead } = await this.registry.heartbeat(this.deps.presenceTtlSeconds * 1000);
    const lost = this.registryLost || lapsed;
    if (lost || this.registryDirty) {
      this.registryLost = false;
      this.registryDirty = false;
      if (lost) this.resyncOwed = true;
      this.reconciles++;
      try {
        const offline = await this.registry.reconcile(this.heldCounts());
        if (offline.length) this.presence.wentOffline(offline);
      } catch (err) {
        this.registryLost ||= lost;
        this.registryDirty = true;
        throw err;
      }
      if (lost && this.connections > 0) {
        this.log.warn({ users: this.users.size }, 'registry entries of this instance written again');
      }
    }
    // With the subscriber still down, its own reconnection sends the resync (later events would be lost too).
    if (this.resyncOwed && subscriber.status === 'ready' && !this.resubscribe) {
      this.resyncOwed = false;
      this.resyncLocal(lost ? 'registry lost' : 'subscription lost');
    }
    await this.flushBacklog();
    for (const instanceId of dead) {
      if (instanceId === this.instanceId || !(await this.registry.claimDead(instanceId))) continue;
      const offline = await this.registry.drain(instanceId);
      this.log.info({ deadInstance: instanceId, offline: offline.length }, 'swept an expired instance');
      this.presence.wentOffline(offline);
    }
  }

  /** Connections held here per user, counting those whose registration is in flight. */
  private heldCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [userId, list] of this.users) counts.set(userId, list.length);
    for (const [userId, n] of this.connecting) counts.set(userId, (counts.get(userId) ?? 0) + n);
    return counts;
  }

  /**
   * Routes what Redis failed to carry: revocations again, and `resync` to the users elsewhere whose events
   * may be lost (to every connection of every instance when there were too many to remember). Their
   * connections here had the events already. What fails again stays owed.
   */
  private async flushBacklog(): Promise<void> {
    if (this.backlog.empty) return;
    const owed = this.backlog.take();
    let sent = 0;
    try {
      for (; sent < owed.controls.length; sent++) {
        const c = owed.controls[sent];
        await this.registry.route([c.userId], REVOKE_TYPE, JSON.stringify(c.revocation));
      }
      if (owed.everyone) await this.registry.broadcast(RESYNC_ALL_TYPE, '');
      else if (owed.users.length)
        await this.registry.route(owed.users, RESYNC_EVENT.type, JSON.stringify(RESYNC_EVENT));
    } catch (err) {
      for (const c of owed.controls.slice(sent)) this.backlog.control(c);
      if (owed.everyone) this.backlog.missedByEveryone();
      else this.backlog.missed(owed.users);
      throw err;
    }
    if (owed.droppedControls) {
      this.log.warn({ dropped: owed.droppedControls }, 'revocations dropped from a full backlog');
    }
    this.log.info(
      { revocations: owed.controls.length, resyncUsers: owed.everyone ? 'all' : owed.users.length },
      'routed what Redis had failed to carry',
    );
  }

  /** Sends `resync` to every connection of this instance. */
  private resyncLocal(reason: string): void {
    const payload = Buffer.from(JSON.stringify(RESYNC_EVENT));
    const sent = this.broadcastLocal(payload, RESYNC_EVENT.type, true);
    if (sent) this.log.info({ connections: sent, reason }, 'asked connections to resync');
  }

  private allSockets(): GatewaySocket[] {
    const out: GatewaySocket[] = [];
    for (const list of this.users.values()) out.push(...list);
    return out;
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
    const requestId = requestIdOf(req.headers['x-request-id']);
    this.log.info({ reqId: requestId, status, errorCode: code }, 'websocket upgrade refused');
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

/** Closes a connection, remembering the code and reason for its close log line. */
function closeWith(ws: GatewaySocket, code: number, reason: string): void {
  if (ws.closeCode === 0) {
    ws.closeCode = code;
    ws.closeReason = reason;
  }
  ws.close(code, reason);
}

/** Cuts a connection without a close handshake (the client sees 1006), remembering why. */
function terminateWith(ws: GatewaySocket, reason: string): void {
  if (ws.closeCode === 0) {
    ws.closeCode = 1006;
    ws.closeReason = reason;
  }
  ws.terminate();
}

/** The close code `ws` sends for a protocol error: 1009 for an oversized frame, 1007 for bad UTF-8, else 1002. */
function protocolCloseCode(err: Error): number {
  const code = (err as Error & { code?: string }).code;
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return 1009;
  if (code === 'WS_ERR_INVALID_UTF8') return 1007;
  return 1002;
}

/** Whether a revocation covers the token `jti` issued at `issuedAt` (the rule `TokenService.verify` applies). */
function covers(revocation: Revocation, jti: string, issuedAt: number): boolean {
  return 'jti' in revocation ? jti === revocation.jti : revokedBy(revocation, jti, issuedAt);
}

/** The token from `?token=` or `Authorization: Bearer`. */
function tokenOf(req: http.IncomingMessage, query: string): string | null {
  const auth = req.headers.authorization;
  if (auth && /^Bearer /i.test(auth)) return auth.slice(7).trim() || null;
  if (!query) return null;
  const token = new URLSearchParams(query).get('token');
  return token || null;
}

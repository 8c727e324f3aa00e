import type http from 'node:http';
import type { Config } from '../config';
import { toAppError, type AppError } from '../shared/errors';
import { newId } from '../shared/ids';
import { LogThrottle } from '../shared/log-throttle';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import { AccountCheck, type InactiveAmong } from './account-check';
import { DeliveryBacklog } from './backlog';
import {
  CUTOFF_TYPE,
  decodeBroadcast,
  decodeRouted,
  encodeBroadcast,
  OPT_OUT_TYPE,
  REVOKE_TYPE,
  type Revocation,
} from './bus-codec';
import { closeWith, CloseCode, ConnectionIO, terminateWith, type GatewaySocket } from './connection';
import { LocalConnections } from './connections';
import type { BusScope, GatewayEngine } from './engine';
import type {
  Broadcast,
  BroadcastOptions,
  DeliverOptions,
  Delivery,
  FrameRouter,
  PresenceAudience,
  ServerEvent,
} from './gateway.types';
import { LeaseKeeper, type OwedRevocation } from './lease';
import { LocalOptOuts, type OptOutSource } from './opt-outs';
import { PresenceService, type PresenceChoices } from './presence';
import {
  UpgradeHandler,
  type ConnectionClaims,
  type OriginCheck,
  type RequestIdOf,
  type TokenVerifier,
} from './upgrade';

export { CloseCode } from './connection';

/** How long shutdown waits for clients to answer the 1001 close before cutting them. */
const CLOSE_GRACE_MS = 1000;

/** Closes the connections of revoked tokens, here and on the other instances. */
export interface RevocationListener {
  /** The token `jti` of `userId` was revoked (logout). */
  tokenRevoked(userId: string, jti: string): Promise<void>;
  /** Every token of `userId` issued at or before `before` (ms), except `keepJti`, was revoked. */
  tokensRevokedBefore(userId: string, before: number, keepJti: string | null): Promise<void>;
}

/** Closes the connections of an account that is no longer active, on every instance. */
export interface AccountCutOff {
  accountDeactivated(userId: string): Promise<void>;
}

export interface GatewayDeps {
  server: http.Server;
  ws: Config['ws'];
  presenceTtlSeconds: number;
  /** The broker, registry and lease: `redisGatewayEngine(redis)` or `memoryGatewayEngine()`. */
  engine: GatewayEngine;
  tokens: TokenVerifier;
  choices: PresenceChoices;
  /** Who hears about a user's presence changes (their friends). */
  presenceAudience: PresenceAudience;
  /** Which users opted out of broadcasts (muted the world channel). */
  optOuts: OptOutSource;
  /** Which of these users' accounts are no longer active (disabled, deleted or gone). */
  inactiveAmong: InactiveAmong;
  logger: Logger;
  metrics: Metrics;
  /** Whether the upgrade's Origin may connect (browser pages of origins that are not allowed may not). */
  allowOrigin: OriginCheck;
  /** The request id of an upgrade, as the HTTP side gives every request one. */
  requestIdOf: RequestIdOf;
}

/**
 * The WebSocket gateway of one instance: the facade over its upgrade handler, connections, lease and
 * presence. It delivers events to users' connections here and, through the engine, on other instances.
 */
export class Gateway implements Delivery, Broadcast, RevocationListener, AccountCutOff {
  /** This instance's id in the registry and on the bus. */
  readonly instanceId: string;
  readonly delivery: Delivery = this;
  readonly broadcaster: Broadcast = this;
  readonly frames: FrameRouter;
  /** Closes the connections of revoked tokens, here and on the other instances (on `TokenRevoked`, `SessionsRevoked`). */
  readonly revocations: RevocationListener = this;
  /** Closes the connections of deactivated accounts, here and on the other instances. */
  readonly cutOff: AccountCutOff = this;
  readonly presence: PresenceService;

  private readonly engine: GatewayEngine;
  private readonly io: ConnectionIO;
  private readonly connections: LocalConnections;
  private readonly lease: LeaseKeeper;
  private readonly upgrades: UpgradeHandler;
  private readonly accounts: AccountCheck;
  private readonly optOuts: LocalOptOuts;
  private readonly log: Logger;
  private readonly outages: LogThrottle;
  /** Users on other instances whose events the engine failed to carry, and revocations to route again. */
  private readonly backlog = new DeliveryBacklog<OwedRevocation>();
  private stopping = false;
  private pingTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: GatewayDeps) {
    this.engine = deps.engine;
    this.instanceId = deps.engine.instanceId;
    this.log = deps.logger.child({ component: 'gateway', instanceId: this.instanceId });
    this.outages = new LogThrottle(this.log);
    const outageWarning = (err: AppError, fields: Record<string, unknown>) => this.outageWarning(err, fields);
    this.optOuts = new LocalOptOuts(deps.optOuts, (err, userId) =>
      this.log.warn({ err, userId }, 'broadcast opt-out read failed; the user gets broadcasts'),
    );
    this.presence = new PresenceService({
      registry: this.engine.registry,
      delivery: this,
      choices: deps.choices,
      audience: deps.presenceAudience,
      logger: this.log,
    });
    this.io = new ConnectionIO({
      ws: deps.ws,
      metrics: deps.metrics,
      logger: this.log,
      outageWarning,
      onClose: (ws, code, reason) => this.detach(ws, code, reason),
    });
    this.frames = this.io;
    this.connections = new LocalConnections({
      io: this.io,
      optOuts: this.optOuts,
      metrics: deps.metrics,
      logger: this.log,
    });
    this.lease = new LeaseKeeper({
      engine: this.engine,
      ttlSeconds: deps.presenceTtlSeconds,
      connections: this.connections,
      presence: this.presence,
      backlog: this.backlog,
      logger: this.log,
      outageWarning,
    });
    this.upgrades = new UpgradeHandler({
      server: deps.server,
      ws: deps.ws,
      tokens: deps.tokens,
      allowOrigin: deps.allowOrigin,
      requestIdOf: deps.requestIdOf,
      registry: this.engine.registry,
      lease: this.lease,
      held: (userId) => this.connections.size(userId),
      metrics: deps.metrics,
      logger: this.log,
      outageWarning,
      attach: (ws, claims, firstAnywhere) => this.attach(ws, claims, firstAnywhere),
      revoked: (claims) => this.connections.closeRevoked(claims.userId, { jti: claims.jti }),
    });
    this.accounts = new AccountCheck({
      inactiveAmong: deps.inactiveAmong,
      connections: this.connections,
      intervalSeconds: deps.ws.accountCheckSeconds,
      logger: this.log,
    });
  }

  /** Takes this instance's lease, subscribes to the bus and starts accepting upgrades. */
  async start(): Promise<void> {
    await this.lease.start();
    await this.engine.broker.subscribe(this.onBusMessage);
    this.upgrades.start();
    if (this.deps.ws.pingIntervalSeconds > 0) {
      this.pingTimer = setInterval(() => this.connections.sweep(), this.deps.ws.pingIntervalSeconds * 1000);
      this.pingTimer.unref();
    }
    this.accounts.start();
    this.log.info('gateway ready');
  }

  /** Refuses new upgrades from now on (first shutdown phase). */
  stopAccepting(): void {
    this.upgrades.stopAccepting();
  }

  /** Closes every connection with 1001, withdraws this instance from the registry and leaves the bus. */
  async stop(): Promise<void> {
    this.upgrades.stop();
    this.stopping = true;
    this.lease.stop();
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.accounts.stop();
    for (const ws of this.connections.all()) closeWith(ws, CloseCode.GoingAway, 'server shutting down');
    const deadline = Date.now() + CLOSE_GRACE_MS;
    while (this.connections.size() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    for (const ws of this.connections.all()) terminateWith(ws, 'server shutting down');
    try {
      const offline = await this.engine.lease.leave();
      await this.presence.wentOfflineNow(offline);
    } finally {
      await this.engine.broker.close();
      this.upgrades.close();
    }
  }

  /** Open connections on this instance, of one user or in all. */
  connectionCount(userId?: string): number {
    return this.connections.size(userId);
  }

  /** Sends the event to every connection of these users: local ones directly, others through one message per instance. */
  async deliver(userIds: readonly string[], event: ServerEvent, options?: DeliverOptions): Promise<void> {
    if (userIds.length === 0) return;
    const targets = userIds.length === 1 ? userIds : [...new Set(userIds)];
    const payload = JSON.stringify(event);
    // A connection id names one socket of this instance (a frame's origin), so only the local send skips it.
    this.connections.sendTo(targets, Buffer.from(payload), event.type, options?.exceptConnectionId);
    try {
      await this.route(targets, event.type, payload);
    } catch (err) {
      // The event is stored (clients can page it); those elsewhere get a `resync` once the engine answers.
      this.backlog.missed(targets);
      this.outageWarning(toAppError(err), { routing: event.type });
      return;
    }
    if (!this.backlog.empty) void this.lease.renew();
  }

  /**
   * Sends the event to every connection on every instance: the local ones directly, the others through one
   * message to all instances. Users who opted out are skipped unless `includeOptedOut`; the cost grows with
   * the connected users, never with the registered ones.
   */
  async broadcast(event: ServerEvent, options: BroadcastOptions = {}): Promise<void> {
    const payload = JSON.stringify(event);
    const everyone = options.includeOptedOut === true;
    this.connections.sendAll(Buffer.from(payload), event.type, everyone, options.exceptConnectionId);
    try {
      await this.engine.broker.publishAll(encodeBroadcast(event.type, this.instanceId, everyone, payload));
    } catch (err) {
      // Stored already: every other instance's connections get a `resync` once the engine answers.
      this.backlog.missedByEveryone();
      this.outageWarning(toAppError(err), { routing: event.type });
      void this.lease.renew();
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
    this.connections.closeInactive(userId);
    await this.route([userId], CUTOFF_TYPE, '');
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
    this.connections.closeRevoked(userId, revocation);
    try {
      await this.route([userId], REVOKE_TYPE, JSON.stringify(revocation));
    } catch (err) {
      // The revocation is stored; routing it again once the engine answers closes the connections elsewhere.
      this.backlog.control({ userId, revocation });
      this.outageWarning(toAppError(err), { routing: 'revocation' });
    }
  }

  /** Publishes `<type>\n<userIds>\n<payload>` to the other instances holding these users, and counts it. */
  private async route(userIds: readonly string[], type: string, payload: string): Promise<void> {
    const instances = await this.engine.registry.route(userIds, type, payload);
    if (instances) this.deps.metrics.gatewayRouted.inc({ direction: 'published' }, instances);
  }

  /** What another instance published to this one or to all: events to write, control messages to apply. */
  private readonly onBusMessage = (message: string, scope: BusScope): void => {
    const { metrics } = this.deps;
    if (scope === 'all') {
      const b = decodeBroadcast(message);
      if (!b || b.origin === this.instanceId) return;
      metrics.gatewayRouted.inc({ direction: 'received' });
      this.connections.sendAll(Buffer.from(b.payload), b.type, b.everyone);
      return;
    }
    const m = decodeRouted(message);
    if (!m) return;
    metrics.gatewayRouted.inc({ direction: 'received' });
    switch (m.kind) {
      case 'event':
        this.connections.sendTo(m.userIds, Buffer.from(m.payload), m.type);
        break;
      case 'resync':
        this.connections.resync('peer');
        break;
      case 'cutoff':
        for (const userId of m.userIds) this.connections.closeInactive(userId);
        break;
      case 'optOut':
        for (const userId of m.userIds) this.optOuts.changed(userId, m.optedOut);
        break;
      case 'revoke':
        for (const userId of m.userIds) this.connections.closeRevoked(userId, m.revocation);
        break;
    }
  };

  /** Serves a connection the upgrade handler admitted. */
  private attach(ws: GatewaySocket, claims: ConnectionClaims, firstAnywhere: boolean): void {
    const userId = claims.userId;
    ws.jti = claims.jti;
    ws.issuedAt = claims.issuedAt;
    ws.expiresAt = claims.expiresAt;
    this.io.open(ws, userId, newId());
    this.connections.add(ws);
    this.io.send(ws, { type: 'ready', data: { userId, connectionId: ws.connectionId } });
    this.log.info({ userId, connectionId: ws.connectionId }, 'websocket connected');
    if (firstAnywhere) this.presence.cameOnline(userId);
  }

  /** Forgets a closed connection; announces the user offline when it was their last anywhere. */
  private detach(ws: GatewaySocket, code: number, reason: Buffer): void {
    if (!this.connections.remove(ws)) return;
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

  /** Uncounts one connection; after a failure the next lease renewal rewrites the entries, so counts never drift up. */
  private unregister(userId: string): void {
    this.engine.registry
      .disconnect(userId)
      .then((left) => {
        if (left === 0) this.presence.wentOffline([userId]);
      })
      .catch((err: unknown) => {
        this.lease.markDirty();
        this.outageWarning(toAppError(err), { registry: 'disconnect' });
      });
  }

  /** A dependency out of reach failed a frame or an upgrade: a warning without a stack, at a bounded rate. */
  private outageWarning(err: AppError, fields: Record<string, unknown>): void {
    this.outages.outage(err, fields, 'dependency unavailable');
  }
}

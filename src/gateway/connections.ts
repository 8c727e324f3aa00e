import { WebSocket } from 'ws';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import type { Revocation } from './bus-codec';
import { closeWith, CloseCode, terminateWith, type ConnectionIO, type GatewaySocket } from './connection';
import type { ServerEvent } from './gateway.types';
import type { LocalOptOuts } from './opt-outs';

/** The event telling a client that it may have missed events: page each conversation with `afterSeq`. */
export const RESYNC_EVENT: ServerEvent = { type: 'resync', data: {} };

export interface LocalConnectionsDeps {
  io: ConnectionIO;
  optOuts: LocalOptOuts;
  metrics: Metrics;
  logger: Logger;
}

/** Whether a revocation covers the token `jti` issued at `issuedAt` (the rule token verification applies). */
export function covers(revocation: Revocation, jti: string, issuedAt: number): boolean {
  return 'jti' in revocation
    ? jti === revocation.jti
    : issuedAt <= revocation.before && jti !== revocation.keep;
}

/** The connections this instance holds, per user: writes to some or all of them, closes and sweeps them. */
export class LocalConnections {
  private readonly users = new Map<string, GatewaySocket[]>();
  private count = 0;

  constructor(private readonly deps: LocalConnectionsDeps) {}

  /** Open connections here, of one user or in all. */
  size(userId?: string): number {
    return userId === undefined ? this.count : (this.users.get(userId)?.length ?? 0);
  }

  /** How many users hold a connection here. */
  get userCount(): number {
    return this.users.size;
  }

  /** The users holding a connection here. */
  userIds(): string[] {
    return [...this.users.keys()];
  }

  /** Connections held here per user. */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [userId, list] of this.users) out.set(userId, list.length);
    return out;
  }

  /** Every connection held here. */
  all(): GatewaySocket[] {
    const out: GatewaySocket[] = [];
    for (const list of this.users.values()) out.push(...list);
    return out;
  }

  /** Adds an opened connection (its user's first here starts reading their broadcast opt-out). */
  add(ws: GatewaySocket): void {
    const list = this.users.get(ws.userId);
    if (list) list.push(ws);
    else {
      this.users.set(ws.userId, [ws]);
      this.deps.optOuts.refresh(ws.userId);
    }
    this.count++;
    this.deps.metrics.wsConnections.inc();
  }

  /** Removes a closed connection; false when it was not held here. */
  remove(ws: GatewaySocket): boolean {
    const list = this.users.get(ws.userId);
    if (!list) return false;
    const at = list.indexOf(ws);
    if (at < 0) return false;
    if (list.length === 1) {
      this.users.delete(ws.userId);
      this.deps.optOuts.forget(ws.userId);
    } else list.splice(at, 1);
    this.count--;
    this.deps.metrics.wsConnections.dec();
    return true;
  }

  /** Writes a serialised event to every connection of these users here, except connection `except`. */
  sendTo(userIds: readonly string[], payload: Buffer, type: string, except?: string): void {
    let sent = 0;
    for (const userId of userIds) {
      const list = this.users.get(userId);
      if (!list) continue;
      for (const ws of list) if (ws.connectionId !== except && this.deps.io.write(ws, payload)) sent++;
    }
    if (sent) this.deps.metrics.wsEvents.inc({ type }, sent);
  }

  /**
   * Writes a broadcast to every connection here, skipping the users who opted out unless `everyone`;
   * returns how many connections it was written to.
   */
  sendAll(payload: Buffer, type: string, everyone: boolean, except?: string): number {
    let sent = 0;
    for (const [userId, list] of this.users) {
      if (!everyone && this.deps.optOuts.has(userId)) continue;
      for (const ws of list) if (ws.connectionId !== except && this.deps.io.write(ws, payload)) sent++;
    }
    if (sent) this.deps.metrics.wsEvents.inc({ type }, sent);
    return sent;
  }

  /** Sends `resync` to every connection here. */
  resync(reason: string): void {
    const sent = this.sendAll(Buffer.from(JSON.stringify(RESYNC_EVENT)), RESYNC_EVENT.type, true);
    if (sent) this.deps.logger.info({ connections: sent, reason }, 'asked connections to resync');
  }

  /** Closes the user's connections here with 4003 `account disabled`. */
  closeInactive(userId: string): void {
    const list = this.users.get(userId);
    if (!list) return;
    for (const ws of [...list]) closeWith(ws, CloseCode.AccountInactive, 'account disabled');
  }

  /** Closes with 4001 the user's connections here whose token the revocation covers. */
  closeRevoked(userId: string, revocation: Revocation): void {
    const list = this.users.get(userId);
    if (!list) return;
    for (const ws of [...list]) {
      if (covers(revocation, ws.jti, ws.issuedAt)) closeWith(ws, CloseCode.TokenInvalid, 'token revoked');
    }
  }

  /**
   * One timer for all connections: drops those that missed the last ping, closes with 4001 those whose
   * token has expired, pings the rest.
   */
  sweep(): void {
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
}

import type { AppError } from '../shared/errors';
import { toAppError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { DeliveryBacklog } from './backlog';
import { REVOKE_TYPE, RESYNC_ALL_TYPE, type Revocation } from './bus-codec';
import { RESYNC_EVENT, type LocalConnections } from './connections';
import type { EngineLink, GatewayEngine } from './engine';
import type { PresenceService } from './presence';

/** A revocation that still has to reach the other instances holding the user. */
export interface OwedRevocation {
  userId: string;
  revocation: Revocation;
}

export interface LeaseKeeperDeps {
  engine: GatewayEngine;
  /** The lease lasts this long and is renewed every third of it. */
  ttlSeconds: number;
  connections: LocalConnections;
  presence: PresenceService;
  backlog: DeliveryBacklog<OwedRevocation>;
  logger: Logger;
  outageWarning: (err: AppError, fields: Record<string, unknown>) => void;
}

/**
 * Keeps this instance's lease and its registry entries whole: renews the lease, writes the entries again
 * after the engine lost them or an update failed, resubscribes after the bus link came back, sends
 * `resync` once events may have been lost, routes what the engine failed to carry, and cleans up after
 * instances whose lease lapsed.
 */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private busy = false;
  /** A renewal was asked for while one ran (after a reconnection): run again when it ends. */
  private again = false;
  /** The engine may have lost this instance's entries and lease (its command link reconnected). */
  private lost = false;
  /** The entries may not match the connections held here (a connect or disconnect failed). */
  private dirty = false;
  /** The subscriber link reconnected: subscribe again, then tell the connections to resync. */
  private resubscribe = false;
  /** Events for this instance's connections may have been lost; `resync` goes out once the engine is whole again. */
  private resyncOwed = false;
  /** How many times the entries were rewritten (a refused connect that overlapped one leaves them dirty). */
  private reconciles = 0;
  /** Connections being counted in the registry but not yet attached, per user (entries rewritten meanwhile count them). */
  private readonly connecting = new Map<string, number>();

  constructor(private readonly deps: LeaseKeeperDeps) {}

  /** Takes the lease (and cleans up after dead instances) before this instance serves anyone. */
  async start(): Promise<void> {
    this.deps.engine.broker.onReconnect(this.onReconnect);
    await this.renew();
    const leaseMs = Math.max(250, Math.floor((this.deps.ttlSeconds * 1000) / 3));
    this.timer = setInterval(() => void this.renew(), leaseMs);
    this.timer.unref();
  }

  /** Stops renewing (shutdown withdraws the lease itself). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** The registry may no longer match the connections held here: rewrite it at the next renewal. */
  markDirty(): void {
    this.dirty = true;
  }

  /** Changes whenever the entries are rewritten. */
  get epoch(): number {
    return this.reconciles;
  }

  /** A connection of the user is being counted in the registry (rewrites meanwhile count it as held). */
  beginConnect(userId: string): void {
    this.connecting.set(userId, (this.connecting.get(userId) ?? 0) + 1);
  }

  /** The registry answered that connection's count. */
  endConnect(userId: string): void {
    const n = (this.connecting.get(userId) ?? 1) - 1;
    if (n > 0) this.connecting.set(userId, n);
    else this.connecting.delete(userId);
  }

  /** Runs a renewal now, or once more after the one running (which may have started before a reconnection). */
  async renew(): Promise<void> {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        try {
          await this.renewOnce();
        } catch (err) {
          this.deps.outageWarning(toAppError(err), { lease: true });
        }
      } while (this.again && !this.stopped);
    } finally {
      this.busy = false;
    }
  }

  /** `command`: the engine may have restarted empty; `subscriber`: messages published meanwhile were lost. */
  private readonly onReconnect = (link: EngineLink): void => {
    if (link === 'command') this.lost = true;
    else this.resubscribe = true;
    void this.renew();
  };

  private async renewOnce(): Promise<void> {
    const { broker, lease } = this.deps.engine;
    if (this.resubscribe) {
      this.resubscribe = false;
      try {
        await broker.resubscribe();
      } catch (err) {
        this.resubscribe = true;
        throw err;
      }
      this.resyncOwed = true;
    }
    const { lapsed, dead } = await lease.heartbeat(this.deps.ttlSeconds * 1000);
    const lost = this.lost || lapsed;
    if (lost || this.dirty) {
      this.lost = false;
      this.dirty = false;
      if (lost) this.resyncOwed = true;
      this.reconciles++;
      try {
        const offline = await lease.reconcile(this.heldCounts());
        if (offline.length) this.deps.presence.wentOffline(offline);
      } catch (err) {
        this.lost ||= lost;
        this.dirty = true;
        throw err;
      }
      if (lost && this.deps.connections.size() > 0) {
        this.deps.logger.warn(
          { users: this.deps.connections.userCount },
          'registry entries of this instance written again',
        );
      }
    }
    // With the subscriber still down, its own reconnection sends the resync (later events would be lost too).
    if (this.resyncOwed && broker.receiving && !this.resubscribe) {
      this.resyncOwed = false;
      this.deps.connections.resync(lost ? 'registry lost' : 'subscription lost');
    }
    await this.flushBacklog();
    for (const instanceId of dead) {
      if (instanceId === this.deps.engine.instanceId || !(await lease.claimDead(instanceId))) continue;
      const offline = await lease.drain(instanceId);
      this.deps.logger.info(
        { deadInstance: instanceId, offline: offline.length },
        'swept an expired instance',
      );
      this.deps.presence.wentOffline(offline);
      // It may have stored messages that it never pushed (killed between the store and the publish), and
      // nobody knows to whom: every connection, here and everywhere, pages from its last seq.
      this.deps.connections.resync('an instance died');
      this.deps.backlog.missedByEveryone();
      await this.flushBacklog();
    }
  }

  /** Connections held here per user, counting those whose registration is in flight. */
  private heldCounts(): Map<string, number> {
    const counts = this.deps.connections.counts();
    for (const [userId, n] of this.connecting) counts.set(userId, (counts.get(userId) ?? 0) + n);
    return counts;
  }

  /**
   * Routes what the engine failed to carry: revocations again, and `resync` to the users elsewhere whose
   * events may be lost (to every connection of every instance when there were too many to remember). Their
   * connections here had the events already. What fails again stays owed.
   */
  private async flushBacklog(): Promise<void> {
    const { backlog, engine } = this.deps;
    if (backlog.empty) return;
    const owed = backlog.take();
    let sent = 0;
    try {
      for (; sent < owed.controls.length; sent++) {
        const c = owed.controls[sent];
        await engine.registry.route([c.userId], REVOKE_TYPE, JSON.stringify(c.revocation));
      }
      if (owed.everyone) await engine.registry.broadcast(RESYNC_ALL_TYPE, '');
      else if (owed.users.length)
        await engine.registry.route(owed.users, RESYNC_EVENT.type, JSON.stringify(RESYNC_EVENT));
    } catch (err) {
      for (const c of owed.controls.slice(sent)) backlog.control(c);
      if (owed.everyone) backlog.missedByEveryone();
      else backlog.missed(owed.users);
      throw err;
    }
    if (owed.droppedControls) {
      this.deps.logger.warn({ dropped: owed.droppedControls }, 'revocations dropped from a full backlog');
    }
    this.deps.logger.info(
      { revocations: owed.controls.length, resyncUsers: owed.everyone ? 'all' : owed.users.length },
      'routed what the engine had failed to carry',
    );
  }
}

import { newId } from '../shared/ids';
import { encodeRouted } from './bus-codec';
import type {
  Broker,
  BusHandler,
  ConnectionRegistry,
  EngineLink,
  GatewayEngine,
  InstanceLease,
} from './engine';

/**
 * The state the Redis engine keeps in Redis, kept in this process instead: leases, per-user connection
 * counts per instance, and the subscribers of the bus. One hub serves every gateway instance of the
 * process (one in embedded mode; several in tests), with the same rules as the Redis scripts.
 */
export class MemoryHub {
  /** instanceId -> lease expiry (ms). */
  readonly leases = new Map<string, number>();
  /** userId -> instanceId -> that user's connections on that instance. */
  readonly users = new Map<string, Map<string, number>>();
  /** instanceId -> users with a connection there (to clean up after it). */
  readonly instanceUsers = new Map<string, Set<string>>();
  /** instanceId -> the handler subscribed to its channel and to the all-instances channel. */
  readonly subscribers = new Map<string, BusHandler>();

  /** Whether the instance's lease lies in the future. */
  live(instanceId: string, now: number): boolean {
    return (this.leases.get(instanceId) ?? -Infinity) > now;
  }

  /** The user's connections on live instances. */
  liveTotal(userId: string, now: number): number {
    let total = 0;
    const counts = this.users.get(userId);
    if (counts) for (const [inst, n] of counts) if (this.live(inst, now)) total += n;
    return total;
  }

  /** Hands a message to an instance's subscriber after the current job, as a pub/sub server would. */
  deliver(instanceId: string, message: string, scope: 'instance' | 'all'): void {
    if (!this.subscribers.has(instanceId)) return;
    queueMicrotask(() => this.subscribers.get(instanceId)?.(message, scope));
  }

  /** Drops one instance's entry of a user; returns whether the user is now offline everywhere. */
  dropEntry(userId: string, instanceId: string, now: number): boolean {
    const counts = this.users.get(userId);
    if (counts) {
      counts.delete(instanceId);
      if (counts.size === 0) this.users.delete(userId);
    }
    return this.liveTotal(userId, now) === 0;
  }
}

/** The bus inside one process: never loses its subscription, so it never reports a reconnection. */
export class MemoryBroker implements Broker {
  private subscribed = false;

  constructor(
    private readonly hub: MemoryHub,
    private readonly instanceId: string,
  ) {}

  async publish(instanceId: string, message: string): Promise<void> {
    this.hub.deliver(instanceId, message, 'instance');
  }

  async publishAll(message: string): Promise<void> {
    for (const instanceId of this.hub.subscribers.keys()) this.hub.deliver(instanceId, message, 'all');
  }

  async subscribe(handler: BusHandler): Promise<void> {
    this.hub.subscribers.set(this.instanceId, handler);
    this.subscribed = true;
  }

  async resubscribe(): Promise<void> {}

  get receiving(): boolean {
    return this.subscribed;
  }

  onReconnect(_listener: (link: EngineLink) => void): void {}

  async close(): Promise<void> {
    this.subscribed = false;
    this.hub.subscribers.delete(this.instanceId);
  }
}

/** The registry and lease inside one process, with the rules of the Redis scripts. */
export class MemoryConnectionRegistry implements ConnectionRegistry, InstanceLease {
  constructor(
    private readonly hub: MemoryHub,
    private readonly broker: Broker,
    readonly instanceId: string,
  ) {}

  async connect(userId: string, max: number): Promise<number> {
    const before = this.hub.liveTotal(userId, Date.now());
    if (before >= max) return -1;
    let counts = this.hub.users.get(userId);
    if (!counts) this.hub.users.set(userId, (counts = new Map()));
    const n = (counts.get(this.instanceId) ?? 0) + 1;
    counts.set(this.instanceId, n);
    if (n === 1) this.usersOf(this.instanceId).add(userId);
    return before;
  }

  async disconnect(userId: string): Promise<number> {
    const now = Date.now();
    const counts = this.hub.users.get(userId);
    const n = (counts?.get(this.instanceId) ?? 0) - 1;
    if (n <= 0) {
      this.hub.dropEntry(userId, this.instanceId, now);
      this.hub.instanceUsers.get(this.instanceId)?.delete(userId);
    } else counts!.set(this.instanceId, n);
    return this.hub.liveTotal(userId, now);
  }

  async online(userIds: readonly string[]): Promise<Set<string>> {
    const now = Date.now();
    return new Set(userIds.filter((id) => this.hub.liveTotal(id, now) > 0));
  }

  async route(userIds: readonly string[], type: string, payload: string): Promise<number> {
    const now = Date.now();
    const targets = new Map<string, string[]>();
    for (const userId of userIds) {
      const counts = this.hub.users.get(userId);
      if (!counts) continue;
      for (const inst of counts.keys()) {
        if (inst === this.instanceId || !this.hub.live(inst, now)) continue;
        const list = targets.get(inst);
        if (list) list.push(userId);
        else targets.set(inst, [userId]);
      }
    }
    for (const [inst, list] of targets) await this.broker.publish(inst, encodeRouted(type, list, payload));
    return targets.size;
  }

  async broadcast(type: string, payload: string): Promise<number> {
    const now = Date.now();
    let n = 0;
    for (const inst of this.hub.leases.keys()) {
      if (inst === this.instanceId || !this.hub.live(inst, now)) continue;
      await this.broker.publish(inst, `${type}\n*\n${payload}`);
      n++;
    }
    return n;
  }

  async heartbeat(ttlMs: number): Promise<{ lapsed: boolean; dead: string[] }> {
    const now = Date.now();
    const lapsed = !this.hub.live(this.instanceId, now);
    this.hub.leases.set(this.instanceId, now + ttlMs);
    const dead: string[] = [];
    for (const [inst, expiry] of this.hub.leases) if (expiry <= now) dead.push(inst);
    return { lapsed, dead };
  }

  async claimDead(instanceId: string): Promise<boolean> {
    const expiry = this.hub.leases.get(instanceId);
    if (expiry === undefined || expiry > Date.now()) return false;
    this.hub.leases.delete(instanceId);
    return true;
  }

  async drain(instanceId: string): Promise<string[]> {
    const now = Date.now();
    const offline: string[] = [];
    const users = this.hub.instanceUsers.get(instanceId);
    this.hub.instanceUsers.delete(instanceId);
    for (const userId of users ?? []) if (this.hub.dropEntry(userId, instanceId, now)) offline.push(userId);
    return offline;
  }

  async leave(): Promise<string[]> {
    this.hub.leases.delete(this.instanceId);
    return this.drain(this.instanceId);
  }

  async reconcile(counts: ReadonlyMap<string, number>): Promise<string[]> {
    const now = Date.now();
    const held = this.usersOf(this.instanceId);
    const offline: string[] = [];
    for (const userId of [...held]) {
      if (counts.has(userId)) continue;
      held.delete(userId);
      if (this.hub.dropEntry(userId, this.instanceId, now)) offline.push(userId);
    }
    for (const [userId, n] of counts) {
      let entry = this.hub.users.get(userId);
      if (!entry) this.hub.users.set(userId, (entry = new Map()));
      entry.set(this.instanceId, n);
      held.add(userId);
    }
    return offline;
  }

  private usersOf(instanceId: string): Set<string> {
    let set = this.hub.instanceUsers.get(instanceId);
    if (!set) this.hub.instanceUsers.set(instanceId, (set = new Set()));
    return set;
  }
}

/**
 * A gateway engine inside this process (embedded mode: no Redis). Instances built on the same hub see each
 * other as instances sharing a Redis server would; by default each engine has a hub of its own.
 */
export function memoryGatewayEngine(
  hub: MemoryHub = new MemoryHub(),
  instanceId: string = newId(),
): GatewayEngine {
  const broker = new MemoryBroker(hub, instanceId);
  const registry = new MemoryConnectionRegistry(hub, broker, instanceId);
  return { instanceId, broker, registry, lease: registry };
}

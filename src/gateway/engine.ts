/*
 * The ports through which the gateway reaches other instances (centrifugal/centrifuge style: one interface,
 * an engine per backend). `engine.redis.ts` keeps everything in Redis for any number of instances;
 * `engine.memory.ts` keeps it in this process for one (embedded mode). Both pass
 * `test/gateway/engine.contract.ts`.
 */

/** Where a message published on the bus was addressed. */
export type BusScope = 'instance' | 'all';

/** Receives what other instances published to this one (`instance`) or to every instance (`all`). */
export type BusHandler = (message: string, scope: BusScope) => void;

/** Which link of the engine came back after a loss. */
export type EngineLink = 'command' | 'subscriber';

/**
 * Carries bus messages between instances: to one instance's channel, or to the channel every instance
 * subscribes to. Delivery is at most once; a lost subscription is reported through `onReconnect`.
 */
export interface Broker {
  /** Publishes a message to one instance's channel. */
  publish(instanceId: string, message: string): Promise<void>;
  /** Publishes a message to every instance subscribed to the all-instances channel (this one included). */
  publishAll(message: string): Promise<void>;
  /** Subscribes this instance to its own channel and to the all-instances channel. */
  subscribe(handler: BusHandler): Promise<void>;
  /** Subscribes again after the subscriber link came back (the old subscription is gone). */
  resubscribe(): Promise<void>;
  /** Whether messages published now reach this instance (the subscriber link is up). */
  readonly receiving: boolean;
  /**
   * Tells the listener when a link came back after a loss: `command` (the store may have restarted empty:
   * entries and lease lost, publishes failed) or `subscriber` (messages meanwhile were lost).
   */
  onReconnect(listener: (link: EngineLink) => void): void;
  /** Unsubscribes and stops reporting reconnections (the clients themselves belong to their owner). */
  close(): Promise<void>;
}

/**
 * Counts the connections of each user on each live instance, answers who is online, and routes bus
 * messages to the instances holding users. An entry counts only while its instance's lease is live, so a
 * dead instance's users read as offline once its lease lapses, before anyone drained it.
 */
export interface ConnectionRegistry {
  /** Counts a new connection here; returns the user's live connections before it, or -1 when at `max`. */
  connect(userId: string, max: number): Promise<number>;
  /** Uncounts a connection here; returns the user's live connections left on all instances. */
  disconnect(userId: string): Promise<number>;
  /** The subset of `userIds` with a connection on a live instance. */
  online(userIds: readonly string[]): Promise<Set<string>>;
  /**
   * Publishes `<type>\n<userIds held there>\n<payload>` once to every other live instance holding any of
   * `userIds`; returns how many instances.
   */
  route(userIds: readonly string[], type: string, payload: string): Promise<number>;
  /** Publishes `<type>\n*\n<payload>` to every other live instance's own channel; returns how many. */
  broadcast(type: string, payload: string): Promise<number>;
}

/** This instance's lease in the registry, and the clean-up after instances whose lease lapsed. */
export interface InstanceLease {
  /**
   * Extends the lease by `ttlMs`; returns whether it had lapsed (missing or expired: entries may be gone
   * and messages routed past this instance) and the instances whose lease has expired.
   */
  heartbeat(ttlMs: number): Promise<{ lapsed: boolean; dead: string[] }>;
  /** Takes over cleaning an expired instance; false when another instance already did or it came back. */
  claimDead(instanceId: string): Promise<boolean>;
  /** Removes every entry of a removed instance; returns the users now offline everywhere. */
  drain(instanceId: string): Promise<string[]>;
  /** Withdraws this instance (shutdown): its lease, then its entries; returns the users now offline. */
  leave(): Promise<string[]>;
  /**
   * Makes this instance's entries exactly `counts` (user id -> connections held here); returns the users
   * whose entry was cleared and who are now offline everywhere.
   */
  reconcile(counts: ReadonlyMap<string, number>): Promise<string[]>;
}

/** Everything one gateway instance needs from its engine. */
export interface GatewayEngine {
  /** This instance's id in the registry and on the bus. */
  readonly instanceId: string;
  readonly broker: Broker;
  readonly registry: ConnectionRegistry;
  readonly lease: InstanceLease;
}

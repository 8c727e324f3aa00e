import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What a database connection pool holds at one moment. */
export interface PoolStats {
  /** Connections open (idle and in use). */
  open: number;
  /** Open connections waiting for work. */
  idle: number;
  /** Requests waiting for a connection because every one is in use. */
  waiting: number;
  /** The most connections the pool opens. */
  limit: number;
}

/** The Prometheus registry of one process and the metrics the modules update. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly wsConnections: Gauge;
  readonly wsEvents: Counter<'type'>;
  readonly messagesStored: Counter<'kind'>;
  readonly wsFramesReceived: Counter<'type'>;
  readonly wsClosed: Counter<'code'>;
  readonly wsUpgradesRefused: Counter<'status'>;
  readonly wsSlowClosed: Counter;
  readonly wsHeartbeatDropped: Counter;
  readonly gatewayRouted: Counter<'direction'>;
  readonly messageDelivery: Histogram;

  /** `dbPool` reads the MySQL pool's state at each scrape. */
  constructor(sources: { dbPool?: () => PoolStats } = {}) {
    collectDefaultMetrics({ register: this.registry, prefix: 'jim_' });
    this.httpDuration = new Histogram({
      name: 'jim_http_request_duration_seconds',
      help: 'HTTP request duration by method, route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    this.wsConnections = new Gauge({
      name: 'jim_ws_connections',
      help: 'Open WebSocket connections on this instance',
      registers: [this.registry],
    });
    this.wsEvents = new Counter({
      name: 'jim_ws_events_sent_total',
      help: 'Events written to WebSocket connections, by type',
      labelNames: ['type'],
      registers: [this.registry],
    });
    this.messagesStored = new Counter({
      name: 'jim_messages_stored_total',
      help: 'Messages stored, by conversation kind',
      labelNames: ['kind'],
      registers: [this.registry],
    });
    this.wsFramesReceived = new Counter({
      name: 'jim_ws_frames_received_total',
      help: 'Client frames received, by type (invalid, unknown and rate_limited included)',
      labelNames: ['type'],
      registers: [this.registry],
    });
    this.wsClosed = new Counter({
      name: 'jim_ws_closed_total',
      help: 'WebSocket connections closed, by close code',
      labelNames: ['code'],
      registers: [this.registry],
    });
    this.wsUpgradesRefused = new Counter({
      name: 'jim_ws_upgrades_refused_total',
      help: 'WebSocket upgrades refused, by HTTP status',
      labelNames: ['status'],
      registers: [this.registry],
    });
    this.wsSlowClosed = new Counter({
      name: 'jim_ws_slow_consumers_closed_total',
      help: 'Connections closed with 1013 because their send buffer passed the limit',
      registers: [this.registry],
    });
    this.wsHeartbeatDropped = new Counter({
      name: 'jim_ws_heartbeat_dropped_total',
      help: 'Connections dropped for missing a pong',
      registers: [this.registry],
    });
    this.gatewayRouted = new Counter({
      name: 'jim_gateway_routed_messages_total',
      help: 'Pub/sub messages between instances, published or received by this one',
      labelNames: ['direction'],
      registers: [this.registry],
    });
    this.messageDelivery = new Histogram({
      name: 'jim_message_delivery_seconds',
      help: 'From a message being stored to its push written to local connections and published to other instances',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    const dbPool = sources.dbPool;
    if (dbPool) {
      new Gauge({
        name: 'jim_db_pool_connections',
        help: 'MySQL pool connections by state (idle or in_use)',
        labelNames: ['state'],
        registers: [this.registry],
        collect() {
          const s = dbPool();
          this.set({ state: 'idle' }, s.idle);
          this.set({ state: 'in_use' }, s.open - s.idle);
        },
      });
      new Gauge({
        name: 'jim_db_pool_waiting_requests',
        help: 'Requests waiting for a MySQL pool connection',
        registers: [this.registry],
        collect() {
          this.set(dbPool().waiting);
        },
      });
      new Gauge({
        name: 'jim_db_pool_max_connections',
        help: 'The most connections the MySQL pool opens (mysql.poolSize)',
        registers: [this.registry],
        collect() {
          this.set(dbPool().limit);
        },
      });
    }
  }
}

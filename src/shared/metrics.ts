import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The Prometheus registry of one process and the metrics the modules update. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly wsConnections: Gauge;
  readonly wsEvents: Counter<'type'>;
  readonly messagesStored: Counter<'kind'>;

  constructor() {
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
  }
}

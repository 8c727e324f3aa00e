import fs from 'node:fs';
import path from 'node:path';
import { registerUser, startTestApp, type TestApp } from '../helpers/app';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

const DASHBOARD = path.resolve(__dirname, '../../docs/grafana-dashboard.json');

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: Array<{ expr: string; refId: string }>;
}

/** Every `jim_*` series name a PromQL expression reads. */
function seriesOf(expr: string): string[] {
  return [...expr.matchAll(/\bjim_[a-z0-9_]+\b/g)].map((m) => m[0]);
}

/** The value of one unlabelled sample, or of the sample with these labels, in Prometheus text. */
function sample(text: string, name: string, labels = ''): number | null {
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}} ` : `${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : null;
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await read();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

needsServers('GET /metrics', () => {
  let app: TestApp;
  const scrape = async () => (await app.http.get('/metrics')).text;
  beforeAll(async () => {
    app = await startTestApp({ mysql: { poolSize: 4 } });
  });
  afterAll(async () => {
    await app.close();
  });

  it('shows the MySQL pool: connections by state, its limit and the requests waiting', async () => {
    const text = await scrape();
    expect(sample(text, 'jim_db_pool_max_connections')).toBe(4);
    const pool = app.instance.mysql;
    const held = await Promise.all([1, 2, 3, 4].map(() => pool.getConnection()));
    const waiting = pool.getConnection();
    try {
      const busy = await scrape();
      expect(sample(busy, 'jim_db_pool_connections', 'state="in_use"')).toBe(4);
      expect(sample(busy, 'jim_db_pool_connections', 'state="idle"')).toBe(0);
      expect(sample(busy, 'jim_db_pool_waiting_requests')).toBe(1);
    } finally {
      for (const c of held) c.release();
      (await waiting).release();
    }
    const idle = await scrape();
    expect(sample(idle, 'jim_db_pool_connections', 'state="in_use"')).toBe(0);
    expect(sample(idle, 'jim_db_pool_connections', 'state="idle"')).toBe(4);
    expect(sample(idle, 'jim_db_pool_waiting_requests')).toBe(0);
  });

  it('times the delivery of each message push', async () => {
    const before = sample(await scrape(), 'jim_message_delivery_seconds_count') ?? 0;
    const u = await registerUser(app);
    const sent = await app.http
      .post('/api/v1/messages')
      .set('Authorization', `Bearer ${u.token}`)
      .send({ conversationId: 'w:world', type: 'text', content: { text: 'timed' }, clientMsgId: 'timed-1' });
    expect(sent.status).toBe(201);
    const text = await until(
      scrape,
      (t) => (sample(t, 'jim_message_delivery_seconds_count') ?? 0) > before,
      'a delivery sample',
    );
    expect(sample(text, 'jim_message_delivery_seconds_count')).toBe(before + 1);
    expect(sample(text, 'jim_message_delivery_seconds_sum')).toBeGreaterThanOrEqual(0);
  });

  it('shows event loop lag', async () => {
    const text = await scrape();
    expect(text).toContain('# TYPE jim_nodejs_eventloop_lag_seconds gauge');
    expect(text).toContain('# TYPE jim_nodejs_eventloop_lag_p99_seconds gauge');
  });

  describe('the Grafana dashboard (docs/grafana-dashboard.json)', () => {
    const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as {
      uid: string;
      panels: Panel[];
      templating: { list: Array<{ name: string }> };
    };
    const graphs = dashboard.panels.filter((p) => p.type !== 'row');
    const queried = [...new Set(graphs.flatMap((p) => (p.targets ?? []).flatMap((t) => seriesOf(t.expr))))];

    it('queries only metrics that /metrics exports', async () => {
      const text = await scrape();
      const types = new Map(
        [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]] as [string, string]),
      );
      const missing = queried.filter((name) => {
        if (types.has(name)) return false;
        const base = name.replace(/_(bucket|count|sum)$/, '');
        return !(base !== name && ['histogram', 'summary'].includes(types.get(base) ?? ''));
      });
      expect(missing).toEqual([]);
    });

    it('covers connections, messages, delivery latency, HTTP latency and errors, event loop lag and the pool', () => {
      expect(queried).toEqual(
        expect.arrayContaining([
          'jim_ws_connections',
          'jim_messages_stored_total',
          'jim_message_delivery_seconds_bucket',
          'jim_http_request_duration_seconds_bucket',
          'jim_http_request_duration_seconds_count',
          'jim_nodejs_eventloop_lag_p99_seconds',
          'jim_db_pool_connections',
          'jim_db_pool_waiting_requests',
        ]),
      );
      const errors = graphs.flatMap((p) => p.targets ?? []).map((t) => t.expr);
      expect(errors.some((e) => /status=~"5\.\."/.test(e) && /by \(route/.test(e))).toBe(true);
    });

    it('is importable: unique panel ids, every query on the chosen data source', () => {
      const ids = dashboard.panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(dashboard.templating.list.map((v) => v.name)).toEqual(
        expect.arrayContaining(['datasource', 'instance']),
      );
      for (const p of graphs) {
        expect(p.datasource?.uid).toBe('${datasource}');
        expect(p.targets?.length).toBeGreaterThan(0);
      }
    });
  });
});

// JIM and ejabberd side by side: the same `dm` load (pairs of users exchanging 100-character messages, both
// servers storing every message in MariaDB) from one set of load processes, one clock and the same statistics.
// ejabberd runs privately (bench/lib/ejabberd.ts: mod_mam on SQL, stream management, no shaper) and is spoken
// to over XMPP on WebSocket (RFC 7395); a message counts as accepted when the server acknowledges it (JIM: the
// `ack` frame; ejabberd: XEP-0198 <a h>), and as delivered when the peer's client receives it.
// Then (unless --history-k 0) history side by side: K messages seeded into both stores across the same pairs,
// and the latest page of 20 of a random conversation read in a closed loop, through JIM's history route and
// through XEP-0313 (MAM) on ejabberd.
// Usage: npm run bench -- peer [--pairs 200] [--rates 500,1000,1500] [--saturation] [--duration 15]
//   [--window 2] [--load-procs 2] [--workers 2] [--order ejabberd,jim] [--history-k 1000000]
//   [--concurrency 32]
import type { BenchUser, PlanResult, Sender } from './lib/client-worker';
import { cpuMeter } from './lib/cpu';
import { startEjabberd } from './lib/ejabberd';
import { Fleet } from './lib/fleet';
import { seedMysql, spreadOver, TEXT, type Conversation } from './lib/seed';
import { Api } from './lib/http';
import {
  addCounts,
  arg,
  befriend,
  benchServer,
  flag,
  log,
  num,
  onExit,
  privateId,
  registerUsers,
  report,
  round,
  run,
  secs,
  sleep,
  summary,
} from './lib/setup';

type Target = 'jim' | 'ejabberd';

interface ReadResult {
  latencies: number[];
  statuses: Record<string, number>;
  ms: number;
  items: number;
}

async function main(): Promise<void> {
  const pairs = num('pairs', 200);
  const rates = arg('rates', '500,1000,1500')
    .split(',')
    .map(Number)
    .filter((r) => r > 0);
  const saturation = flag('saturation') || !process.argv.includes('--rates');
  const duration = num('duration', 15);
  const window = num('window', 2);
  const procs = num('load-procs', 2);
  const order = arg('order', 'ejabberd,jim').split(',') as Target[];

  log('starting ejabberd ...');
  const ejb = await startEjabberd();
  onExit(() => ejb.stop());
  log(`ejabberd ${ejb.wsUrl} (pid ${ejb.pid}, database ${ejb.database})`);
  const server = await benchServer();
  log(`jim ${server.url} (${server.store}, ${server.workers} worker(s))`);

  const api = new Api(server.url);
  const users = await registerUsers(api, pairs * 2, 'peer');
  const pairList = Array.from(
    { length: pairs },
    (_, p) => [users[2 * p], users[2 * p + 1]] as [BenchUser, BenchUser],
  );
  await befriend(api, pairList);
  const xusers = await ejb.createUsers('peer', pairs * 2);

  const fleet = new Fleet(procs);
  onExit(() => fleet.stop());
  const owner = (i: number) => Math.floor(i / 2) % procs;
  const opened = await fleet.open(server.url, users, owner);
  if (opened.failed) throw new Error(`${opened.failed} JIM WebSockets failed to open`);
  const xshares: Array<typeof xusers> = Array.from({ length: procs }, () => []);
  xusers.forEach((u, i) => xshares[owner(i)].push(u));
  const xopened = await fleet.all<{ opened: number; failed: number }>('openXmpp', (i) => ({
    wsUrl: ejb.wsUrl,
    domain: ejb.domain,
    users: xshares[i],
    localAddress: fleet.address(i),
    concurrency: 50,
  }));
  const xfailed = xopened.reduce((s, r) => s + r.failed, 0);
  if (xfailed) throw new Error(`${xfailed} XMPP sessions failed to open`);
  log(`opened ${opened.opened} JIM WebSockets and ${xusers.length} XMPP sessions`);

  const senders: Record<Target, Sender[][]> = {
    jim: Array.from({ length: procs }, () => []),
    ejabberd: Array.from({ length: procs }, () => []),
  };
  pairList.forEach(([a, b], p) => {
    const cid = privateId(a.id, b.id);
    senders.jim[p % procs].push({ userId: a.id, conversationId: cid }, { userId: b.id, conversationId: cid });
    const [xa, xb] = [xusers[2 * p].user, xusers[2 * p + 1].user];
    senders.ejabberd[p % procs].push(
      { userId: xa, conversationId: `${xb}@${ejb.domain}/bench` },
      { userId: xb, conversationId: `${xa}@${ejb.domain}/bench` },
    );
  });
  const mode = (t: Target) => (t === 'jim' ? 'ws' : 'xmpp');
  const pid = (t: Target) => (t === 'jim' ? server.pid : ejb.pid);

  // History first: the seeded messages take seqs 1..n, the dm phases then append after them.
  const historyK = num('history-k', 1_000_000);
  const historyRows: Record<string, unknown>[] = [];
  if (historyK > 0) {
    const convs = spreadOver(pairList, historyK);
    let started = Date.now();
    log(`seeding ${historyK} messages into JIM (${pairs} conversations) ...`);
    await seedMysql(server.database!, convs);
    log(`seeded JIM in ${secs(started)} s; seeding ejabberd's archive (two rows a message) ...`);
    started = Date.now();
    await seedArchive(ejb, xusers, convs);
    log(`seeded ejabberd in ${secs(started)} s`);
    const concurrency = num('concurrency', 32);
    const jimRequests = convs.map((c) => ({
      path: `/api/v1/conversations/${encodeURIComponent(c.id)}/messages?limit=20`,
      token: c.a.token,
    }));
    const mamQueries = (i: number) =>
      pairList
        .map((_, p) => p)
        .filter((p) => owner(2 * p) === i)
        .map((p) => ({ user: xusers[2 * p].user, with: `${xusers[2 * p + 1].user}@${ejb.domain}` }));
    for (const t of order) {
      const load = (durationMs: number, lanes: number) =>
        t === 'jim'
          ? fleet.all<ReadResult>('http', (i) => ({
              httpUrl: server.url,
              localAddress: fleet.address(i),
              requests: jimRequests,
              concurrency: lanes,
              durationMs,
            }))
          : fleet.all<ReadResult>('mam', (i) => ({
              queries: mamQueries(i),
              pageSize: 20,
              concurrency: lanes,
              durationMs,
            }));
      await load(2000, 4);
      log(`${t} history: latest page of 20, ${concurrency} in flight for ${duration} s ...`);
      const cpu = cpuMeter(pid(t));
      const results = await load(duration * 1000, Math.max(1, Math.round(concurrency / procs)));
      const cpuUse = cpu.stop();
      const latencies = results.flatMap((r) => r.latencies);
      const lat = summary(latencies);
      const seconds = Math.max(...results.map((r) => r.ms)) / 1000;
      const statuses = addCounts(results.map((r) => r.statuses));
      historyRows.push({
        server: t,
        stored: historyK,
        'pages/s': round(latencies.length / seconds),
        'p50 ms': lat.p50,
        'p99 ms': lat.p99,
        'items/page': round(results.reduce((s, r) => s + r.items, 0) / Math.max(1, latencies.length), 1),
        'server CPU %': cpuUse.server,
        'db CPU %': cpuUse.database,
        statuses: JSON.stringify(statuses),
      });
      await sleep(1000);
    }
    console.table(historyRows);
  }

  for (const t of order) {
    await fleet.all('send', (i) => ({
      mode: mode(t),
      senders: senders[t][i],
      rate: 200 / procs,
      window: 1,
      durationMs: 3000,
      trackEvery: 0,
      keyPrefix: `warm${t}`,
      maxInFlight: 1000,
      textLength: 100,
    }));
  }
  await sleep(1000);

  const phases = [...rates.map((r) => ({ rate: r })), ...(saturation ? [{ rate: 0 }] : [])];
  const rows: Record<string, unknown>[] = [];
  const details: Record<string, unknown>[] = [];
  for (const phase of phases) {
    const row: Record<string, unknown> = { 'offered/s': phase.rate || 'max' };
    for (const t of order) {
      const prefix = `${t}${phase.rate}`;
      await fleet.all('reset', () => ({ prefix }));
      log(
        `${t} ${phase.rate ? `at ${phase.rate} msg/s` : `at saturation (window ${window})`} for ${duration} s ...`,
      );
      const cpu = cpuMeter(pid(t));
      const results = await fleet.all<PlanResult>('send', (i) => ({
        mode: mode(t),
        senders: senders[t][i],
        rate: phase.rate / procs,
        window,
        durationMs: duration * 1000,
        trackEvery: 0,
        keyPrefix: prefix,
        maxInFlight: 5000,
        textLength: 100,
      }));
      const cpuUse = cpu.stop();
      const accepted = results.reduce((s, r) => s + r.accepted, 0);
      const { delivered, latencies } = await fleet.deliveries(accepted);
      const latency = summary(latencies);
      const seconds = Math.max(...results.map((r) => Math.max(r.sendingMs, r.acceptingMs))) / 1000;
      const errors = results.reduce((s, r) => s + r.failed + r.unanswered, 0);
      row[`${t} delivered/s`] = round(delivered / seconds);
      row[`${t} p50 ms`] = latency.p50;
      row[`${t} p99 ms`] = latency.p99;
      row[`${t} CPU %`] = cpuUse.server;
      row[`${t} db CPU %`] = cpuUse.database;
      details.push({
        target: t,
        rate: phase.rate || 'max',
        seconds: round(seconds, 2),
        accepted,
        delivered,
        errors,
        skipped: results.reduce((s, r) => s + r.skipped, 0),
        deliveryLatencyMs: latency,
        ackLatencyMs: summary(results.flatMap((r) => r.ackLatencies)),
        cpu: cpuUse,
        // Server CPU time per delivered message, in ms.
        cpuMsPerMessage: delivered ? round((cpuUse.server * 10 * seconds) / delivered, 3) : null,
      });
      await sleep(1000);
    }
    console.table([row]);
    rows.push(row);
  }
  // Every accepted message must be in ejabberd's archive twice (the sender's and the recipient's copy).
  const acceptedEjb = details
    .filter((d) => d.target === 'ejabberd')
    .reduce((s, d) => s + (d.accepted as number), 0);
  const [{ n: archived }] = (await ejb.query(
    "SELECT COUNT(*) AS n FROM archive WHERE txt NOT LIKE 'seed %'",
  )) as Array<{ n: number }>;
  log(`ejabberd archived ${archived} rows for ${acceptedEjb} measured messages (plus warm-up)`);
  if (Number(archived) < 2 * acceptedEjb)
    throw new Error('ejabberd did not archive every message: check mod_mam');
  if (historyRows.length) console.table(historyRows);
  report('peer', server, rows, {
    history: historyRows,
    ejabberdArchivedRows: Number(archived),
    pairs,
    users: users.length,
    loadProcesses: procs,
    duration,
    window,
    ejabberd: {
      version: '23.01 (Debian)',
      mam: 'sql, default always',
      streamManagement: true,
      shaper: 'none',
    },
    phases: details,
  });
  api.close();
}

/** The same conversations in ejabberd's archive: each message once in the sender's and once in the peer's. */
async function seedArchive(
  ejb: Awaited<ReturnType<typeof startEjabberd>>,
  xusers: Array<{ user: string }>,
  convs: Conversation[],
): Promise<void> {
  const base = (Date.now() - 30 * 86400_000) * 1000;
  const BATCH = 1000;
  for (let p = 0; p < convs.length; p++) {
    const [a, b] = [`${xusers[2 * p].user}@${ejb.domain}`, `${xusers[2 * p + 1].user}@${ejb.domain}`];
    for (let from = 1; from <= convs[p].count; from += BATCH) {
      const rows: unknown[][] = [];
      for (let seq = from; seq <= Math.min(convs[p].count, from + BATCH - 1); seq++) {
        const [sender, recipient] = seq % 2 ? [a, b] : [b, a];
        const text = `seed ${TEXT} #${seq}`;
        const xml =
          `<message xmlns="jabber:client" from="${sender}/bench" to="${recipient}/bench" type="chat">` +
          `<body>${text}</body></message>`;
        const ts = base + seq * 1_000_000 + p;
        rows.push([a.split('@')[0], ts, b, b, xml, text, 'chat', '']);
        rows.push([b.split('@')[0], ts, a, a, xml, text, 'chat', '']);
      }
      await ejb.query(
        'INSERT INTO archive (username, timestamp, peer, bare_peer, xml, txt, kind, nick) VALUES ?',
        [rows],
      );
    }
  }
  await ejb.query('ANALYZE TABLE archive');
}

run(main, 3600);

// Pairs of friends exchanging private messages over WS `send` and over REST. For each mode: a fixed
// offered rate (open loop) and saturation (closed loop, `--window` sends in flight per sender). Reports
// accepted msg/s, delivered msg/s, and delivery latency send → receipt by the recipient.
// Usage: npm run bench -- dm [--pairs 100] [--modes ws,rest] [--phases rate,saturation] [--rate 2000]
//   [--duration 15] [--window 2] [--max-in-flight 1000] [--load-procs 2] [--store mysql|mongo] [--workers 1] [--pool 10]
//   [--cpu-prof] [--url http://host:port]
import type { PlanResult, Sender } from './lib/client-worker';
import { cpuMeter } from './lib/cpu';
import { Fleet } from './lib/fleet';
import { Api } from './lib/http';
import {
  addCounts,
  arg,
  befriend,
  benchServer,
  log,
  num,
  onExit,
  privateId,
  registerUsers,
  report,
  round,
  run,
  sleep,
  summary,
} from './lib/setup';

async function main(): Promise<void> {
  const pairs = num('pairs', 100);
  const modes = arg('modes', 'ws,rest').split(',') as Array<'ws' | 'rest'>;
  const phases = arg('phases', 'rate,saturation').split(',');
  const rate = num('rate', 2000);
  const duration = num('duration', 15);
  const window = num('window', 2);
  const procs = num('load-procs', 2);
  // Open loop: past this many unanswered sends per load process, due sends are skipped (and counted).
  const maxInFlight = num('max-in-flight', 1000);

  const server = await benchServer();
  log(`server ${server.url} (${server.store}, ${server.workers} worker(s))`);
  const api = new Api(server.url);
  const users = await registerUsers(api, pairs * 2, 'dm');
  const pairList = Array.from(
    { length: pairs },
    (_, p) => [users[2 * p], users[2 * p + 1]] as [(typeof users)[0], (typeof users)[0]],
  );
  await befriend(api, pairList);

  const fleet = new Fleet(procs);
  onExit(() => fleet.stop());
  // Both ends of a pair live in the same load process; each end sends to the other.
  const owner = (i: number) => Math.floor(i / 2) % procs;
  const opened = await fleet.open(server.url, users, owner);
  log(`opened ${opened.opened} WebSockets (${opened.failed} failed) in ${opened.ms} ms`);
  if (opened.failed) throw new Error('some WebSockets failed to open');
  const senders: Sender[][] = Array.from({ length: procs }, () => []);
  pairList.forEach(([a, b], p) => {
    const cid = privateId(a.id, b.id);
    senders[p % procs].push({ userId: a.id, conversationId: cid }, { userId: b.id, conversationId: cid });
  });

  // Warm-up: compile the hot paths and fill the policy cache before anything is measured.
  await fleet.all('send', (i) => ({
    mode: 'ws',
    senders: senders[i],
    rate: 200 / procs,
    window: 1,
    durationMs: 3000,
    trackEvery: 0,
    keyPrefix: 'warm',
    maxInFlight: 1000,
  }));
  if (modes.includes('rest')) {
    await fleet.all('send', (i) => ({
      mode: 'rest',
      senders: senders[i],
      rate: 200 / procs,
      window: 1,
      durationMs: 2000,
      trackEvery: 0,
      keyPrefix: 'warmr',
      maxInFlight: 1000,
    }));
  }
  await sleep(1000);

  const rows: Record<string, unknown>[] = [];
  const details: Record<string, unknown>[] = [];
  for (const mode of modes) {
    for (const phase of phases) {
      await fleet.all('reset', () => ({ prefix: `${mode}${phase}` }));
      log(
        `${mode} ${phase === 'rate' ? `at ${rate} msg/s offered` : `at saturation (window ${window})`} for ${duration} s ...`,
      );
      const cpu = cpuMeter(server.pid);
      const results = await fleet.all<PlanResult>('send', (i) => ({
        mode,
        senders: senders[i],
        rate: phase === 'rate' ? rate / procs : 0,
        window,
        durationMs: duration * 1000,
        trackEvery: 0,
        keyPrefix: `${mode}${phase}`,
        maxInFlight,
      }));
      const cpuUse = cpu.stop();
      const accepted = results.reduce((s, r) => s + r.accepted, 0);
      // Wait (bounded) until every accepted message has reached its recipient.
      const { delivered, latencies } = await fleet.deliveries(accepted);
      const latency = summary(latencies);
      const ack = summary(results.flatMap((r) => r.ackLatencies));
      const seconds = Math.max(...results.map((r) => Math.max(r.sendingMs, r.acceptingMs))) / 1000;
      const codes = addCounts(results.map((r) => r.codes));
      const row = {
        mode,
        phase,
        'offered/s': phase === 'rate' ? rate : 'max',
        'accepted/s': round(accepted / seconds),
        'delivered/s': round(delivered / seconds),
        delivered: `${delivered}/${accepted}`,
        errors: results.reduce((s, r) => s + r.failed + r.unanswered, 0),
        skipped: results.reduce((s, r) => s + r.skipped, 0),
        'p50 ms': latency.p50,
        'p95 ms': latency.p95,
        'p99 ms': latency.p99,
        'server CPU %': cpuUse.server,
        'db CPU %': cpuUse.database,
        'redis CPU %': cpuUse.redis,
        'load CPU %': cpuUse.load,
      };
      rows.push(row);
      details.push({
        ...row,
        seconds: round(seconds, 2),
        accepted,
        deliveryLatencyMs: latency,
        ackLatencyMs: ack,
        codes,
        cpu: cpuUse,
      });
      console.table([row]);
      await sleep(1000);
    }
  }
  report('dm', server, rows, {
    pairs,
    users: users.length,
    loadProcesses: procs,
    rate,
    duration,
    window,
    phases: details,
  });
  api.close();
}

run(main, 1800);

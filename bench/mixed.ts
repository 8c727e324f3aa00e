// An OpenIM-style run: many online users, each with a few friends and in a small group, sending a mix of
// private and group messages at a fixed rate over WS. A sample of messages is tracked end to end: each
// tracked message must reach every recipient (the peer, or every other member of the group) exactly once.
// Usage: npm run bench -- mixed [--users 1000] [--friends 3] [--group-size 20] [--group-share 0.3]
//   [--rate 500] [--duration 30] [--track-every 10] [--load-procs 2] [--store mysql|mongo] [--workers 1]
import type { BenchUser, PlanResult, Sender } from './lib/client-worker';
import { cpuMeter } from './lib/cpu';
import { Fleet } from './lib/fleet';
import { Api } from './lib/http';
import {
  befriend,
  benchServer,
  inLanes,
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

interface KeyStat {
  n: number;
  first: number;
  last: number;
}

async function main(): Promise<void> {
  const userCount = num('users', 1000);
  const friendsEach = num('friends', 3);
  const groupSize = num('group-size', 20);
  const groupShare = num('group-share', 0.3);
  const rate = num('rate', 500);
  const duration = num('duration', 30);
  const trackEvery = num('track-every', 10);
  const procs = num('load-procs', 2);

  const server = await benchServer();
  log(`server ${server.url} (${server.store}, ${server.workers} worker(s))`);
  const api = new Api(server.url);
  const users = await registerUsers(api, userCount, 'mix');
  const friendsOf = new Map<string, BenchUser[]>(users.map((u) => [u.id, []]));
  const pairs: Array<[BenchUser, BenchUser]> = [];
  for (let i = 0; i < userCount; i++) {
    for (let d = 1; d <= friendsEach; d++) {
      const a = users[i];
      const b = users[(i + d) % userCount];
      pairs.push([a, b]);
      friendsOf.get(a.id)!.push(b);
      friendsOf.get(b.id)!.push(a);
    }
  }
  await befriend(api, pairs);

  // Consecutive blocks of users form the groups; the first of each block creates it, the others join.
  const groupOf = new Map<string, string>();
  const groupMembers = new Map<string, number>();
  const started = Date.now();
  const blocks: BenchUser[][] = [];
  for (let i = 0; i < userCount; i += groupSize) blocks.push(users.slice(i, i + groupSize));
  await inLanes(blocks, 8, async (block) => {
    const g = await api.must<{ id: string }>('POST', '/api/v1/groups', block[0].token, {
      name: 'mixed bench',
      joinPolicy: 'open',
      maxMembers: Math.max(2, groupSize),
    });
    for (const u of block.slice(1))
      await api.must('POST', `/api/v1/groups/${g.id}/join`, u.token, undefined, [200]);
    const cid = `g:${g.id}`;
    for (const u of block) groupOf.set(u.id, cid);
    groupMembers.set(cid, block.length);
  });
  log(`made ${blocks.length} groups of up to ${groupSize} in ${secs(started)} s`);

  const fleet = new Fleet(procs);
  onExit(() => fleet.stop());
  const opened = await fleet.open(server.url, users);
  log(`opened ${opened.opened} WebSockets (${opened.failed} failed) in ${opened.ms} ms`);
  if (opened.failed) throw new Error('some WebSockets failed to open');

  // Each load process sends as its own users: a shuffled list with the private/group mix.
  const senders: Sender[][] = Array.from({ length: procs }, () => []);
  for (let n = 0; n < 20_000; n++) {
    const u = users[Math.floor(Math.random() * userCount)];
    const p = opened.holder.get(u.id)!;
    const friends = friendsOf.get(u.id)!;
    const toGroup = Math.random() < groupShare && (groupMembers.get(groupOf.get(u.id)!) ?? 0) > 1;
    const conversationId = toGroup
      ? groupOf.get(u.id)!
      : privateId(u.id, friends[Math.floor(Math.random() * friends.length)].id);
    senders[p].push({ userId: u.id, conversationId });
  }

  log(`sending ${rate} msg/s for ${duration} s, tracking every ${trackEvery}th message ...`);
  const cpu = cpuMeter(server.pid);
  const results = await fleet.all<PlanResult>('send', (i) => ({
    mode: 'ws',
    senders: senders[i],
    rate: rate / procs,
    window: 1,
    durationMs: duration * 1000,
    trackEvery,
    keyPrefix: 'mix',
    maxInFlight: 50_000,
  }));
  const cpuUse = cpu.stop();
  const tracked = results.flatMap((r) => r.tracked);
  const expectedOf = (entry: string) => {
    const cid = entry.split('|')[0];
    return cid.startsWith('g:') ? (groupMembers.get(cid) ?? 1) - 1 : 1;
  };
  const expectedTotal = tracked.reduce((s, t) => s + expectedOf(t), 0);

  // Wait (bounded) for the tracked messages to arrive everywhere.
  const until = Date.now() + 30_000;
  let merged = new Map<string, KeyStat>();
  let duplicates: number;
  let latencies: number[];
  for (;;) {
    const last = Date.now() > until;
    const st = await fleet.all<{ perKey: Record<string, KeyStat>; duplicates: number; latencies?: number[] }>(
      'stats',
      () => ({ latencies: last }),
    );
    merged = new Map();
    for (const r of st) {
      for (const [k, s] of Object.entries(r.perKey)) {
        const m = merged.get(k);
        merged.set(
          k,
          m ? { n: m.n + s.n, first: Math.min(m.first, s.first), last: Math.max(m.last, s.last) } : { ...s },
        );
      }
    }
    duplicates = st.reduce((s, r) => s + r.duplicates, 0);
    const got = tracked.reduce((s, t) => s + Math.min(merged.get(t.split('|')[2])?.n ?? 0, expectedOf(t)), 0);
    if (last) {
      latencies = st.flatMap((r) => r.latencies ?? []);
      break;
    }
    if (got >= expectedTotal) {
      await sleep(500);
      const final = await fleet.all<{ latencies?: number[]; duplicates: number }>('stats', () => ({
        latencies: true,
      }));
      latencies = final.flatMap((r) => r.latencies ?? []);
      duplicates = final.reduce((s, r) => s + r.duplicates, 0);
      break;
    }
    await sleep(250);
  }
  const receivedTracked = tracked.reduce(
    (s, t) => s + Math.min(merged.get(t.split('|')[2])?.n ?? 0, expectedOf(t)),
    0,
  );
  const unexpected = tracked.reduce(
    (s, t) => s + Math.max(0, (merged.get(t.split('|')[2])?.n ?? 0) - expectedOf(t)),
    0,
  );
  const accepted = results.reduce((s, r) => s + r.accepted, 0);
  const seconds = Math.max(...results.map((r) => Math.max(r.sendingMs, r.acceptingMs))) / 1000;
  const lat = summary(latencies);
  const codes: Record<string, number> = {};
  for (const r of results) for (const [c, n] of Object.entries(r.codes)) codes[c] = (codes[c] ?? 0) + n;
  const share = expectedTotal ? (receivedTracked / expectedTotal) * 100 : 0;
  const row = {
    users: userCount,
    groups: blocks.length,
    'offered/s': rate,
    'accepted/s': round(accepted / seconds),
    'deliveries/s': round(latencies.length / seconds),
    refused: results.reduce((s, r) => s + r.failed + r.unanswered, 0),
    tracked: tracked.length,
    'delivered %': round(share, 3),
    duplicates: duplicates + unexpected,
    'mean ms': lat.mean,
    'p50 ms': lat.p50,
    'p99 ms': lat.p99,
    'server CPU %': cpuUse.server,
    'db CPU %': cpuUse.database,
    'load CPU %': cpuUse.load,
  };
  report('mixed', server, [row], {
    users: userCount,
    friendsEach,
    groupSize,
    groupShare,
    rate,
    duration,
    trackEvery,
    loadProcesses: procs,
    accepted,
    trackedMessages: tracked.length,
    trackedDeliveriesExpected: expectedTotal,
    trackedDeliveriesReceived: receivedTracked,
    deliveredShare: share,
    codes,
    deliveryLatencyMs: lat,
    cpu: cpuUse,
  });
  if (share < 100) console.log(`NOT ALL DELIVERED: ${receivedTracked}/${expectedTotal}`);
  api.close();
}

run(main, 3600);

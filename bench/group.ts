// One message to a group of M online members: time until the first and the last member has it, and
// deliveries per second; then a burst of messages back to back for the sustained fan-out rate.
// Usage: npm run bench -- group [--members 5000] [--messages 10] [--burst 20] [--mode ws|rest]
//   [--load-procs 2] [--store mysql|mongo] [--workers 1] [--cpu-prof] [--url http://host:port]
// The group limit follows --members (GROUPS_MAX_MEMBERS_LIMIT on the spawned server; --max overrides).
import type { Sender } from './lib/client-worker';
import { cpuMeter } from './lib/cpu';
import { Fleet } from './lib/fleet';
import { Api } from './lib/http';
import {
  arg,
  benchServer,
  inLanes,
  log,
  num,
  onExit,
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
  const members = num('members', 5000);
  const messages = num('messages', 10);
  const burst = num('burst', 20);
  const mode = arg('mode', 'ws') as 'ws' | 'rest';
  const procs = num('load-procs', 2);
  const max = num('max', Math.max(5000, members));

  const server = await benchServer({
    GROUPS_MAX_MEMBERS_LIMIT: String(max),
    GROUPS_DEFAULT_MAX_MEMBERS: String(Math.min(500, max)),
  });
  log(`server ${server.url} (${server.store}, ${server.workers} worker(s))`);
  const api = new Api(server.url);
  const users = await registerUsers(api, members, 'grp');
  const owner = users[0];
  const group = await api.must<{ id: string }>('POST', '/api/v1/groups', owner.token, {
    name: `bench ${members}`,
    joinPolicy: 'open',
    maxMembers: Math.max(2, members),
  });
  const joined = Date.now();
  await inLanes(users.slice(1), 16, async (u) => {
    await api.must('POST', `/api/v1/groups/${group.id}/join`, u.token, undefined, [200]);
  });
  log(`${members - 1} members joined group ${group.id} in ${secs(joined)} s`);

  const fleet = new Fleet(procs);
  onExit(() => fleet.stop());
  const opened = await fleet.open(server.url, users);
  log(`opened ${opened.opened} WebSockets (${opened.failed} failed) in ${opened.ms} ms`);
  if (opened.failed) throw new Error('some WebSockets failed to open');
  const ownerProc = opened.holder.get(owner.id)!;
  const sender: Sender = { userId: owner.id, conversationId: `g:${group.id}` };
  const expected = members - 1;

  /** Waits (bounded) until each key reached every member; returns the merged per-key stats. */
  const waitFor = async (keys: string[]): Promise<Map<string, KeyStat>> => {
    const until = Date.now() + 30_000;
    for (;;) {
      const st = await fleet.all<{ perKey: Record<string, KeyStat> }>('stats', () => ({
        latencies: false,
        keys,
      }));
      const merged = new Map<string, KeyStat>();
      for (const r of st) {
        for (const [k, s] of Object.entries(r.perKey)) {
          const m = merged.get(k);
          if (!m) merged.set(k, { ...s });
          else
            merged.set(k, {
              n: m.n + s.n,
              first: Math.min(m.first, s.first),
              last: Math.max(m.last, s.last),
            });
        }
      }
      const done = keys.every((k) => (merged.get(k)?.n ?? 0) >= expected);
      if (done || Date.now() > until) return merged;
      await sleep(50);
    }
  };
  const sendOne = (key: string) =>
    fleet.call<{ ok: boolean; code?: string; sentAt: number; ackAt: number }>(ownerProc, 'sendOne', {
      mode,
      sender,
      key,
    });

  // Warm-up: the member cache and the code paths, not measured.
  for (let i = 0; i < 3; i++) {
    const r = await sendOne(`warm${i}`);
    if (!r.ok) throw new Error(`send refused: ${r.code}`);
    await waitFor([`warm${i}`]);
  }
  await fleet.all('reset', () => ({}));

  // One at a time: the fan-out latency of a single message.
  const toLast: number[] = [];
  const toFirst: number[] = [];
  const toAck: number[] = [];
  let incomplete = 0;
  const cpuSingle = cpuMeter(server.pid);
  for (let i = 0; i < messages; i++) {
    const key = `one${i}`;
    const r = await sendOne(key);
    if (!r.ok) throw new Error(`send refused: ${r.code}`);
    const s = (await waitFor([key])).get(key);
    if (!s || s.n < expected) incomplete++;
    if (s) {
      toLast.push(s.last - r.sentAt);
      toFirst.push(s.first - r.sentAt);
    }
    toAck.push(r.ackAt - r.sentAt);
    await sleep(200);
  }
  const cpuSingleUse = cpuSingle.stop();
  const last = summary(toLast);
  const first = summary(toFirst);
  const ack = summary(toAck);
  log(`single: last member after p50 ${last.p50} ms, max ${last.max} ms`);

  // A burst: `burst` messages sent together, for deliveries per second.
  await fleet.all('reset', () => ({}));
  const keys = Array.from({ length: burst }, (_, i) => `burst${i}`);
  const cpuBurst = cpuMeter(server.pid);
  const sent = await Promise.all(keys.map((k) => sendOne(k)));
  const stats = await waitFor(keys);
  const cpuBurstUse = cpuBurst.stop();
  const burstStart = Math.min(...sent.map((s) => s.sentAt));
  const burstEnd = Math.max(...[...stats.values()].map((s) => s.last));
  const burstDelivered = [...stats.values()].reduce((s, k) => s + k.n, 0);
  const burstSeconds = (burstEnd - burstStart) / 1000;
  const burstRefused = sent.filter((s) => !s.ok).length;

  const rows = [
    {
      test: `1 message × ${messages}`,
      members,
      'first member p50 ms': first.p50,
      'last member p50 ms': last.p50,
      'last member max ms': last.max,
      'deliveries/s': last.p50 ? round(expected / (last.p50 / 1000)) : null,
      delivered: `${toLast.length - incomplete}/${messages} complete`,
      'server CPU %': cpuSingleUse.server,
      'db CPU %': cpuSingleUse.database,
      'redis CPU %': cpuSingleUse.redis,
      'load CPU %': cpuSingleUse.load,
    },
    {
      test: `burst of ${burst}`,
      members,
      'first member p50 ms': null,
      'last member p50 ms': round(burstEnd - burstStart, 1),
      'last member max ms': round(burstEnd - burstStart, 1),
      'deliveries/s': round(burstDelivered / burstSeconds),
      delivered: `${burstDelivered}/${expected * (burst - burstRefused)}`,
      'server CPU %': cpuBurstUse.server,
      'db CPU %': cpuBurstUse.database,
      'redis CPU %': cpuBurstUse.redis,
      'load CPU %': cpuBurstUse.load,
    },
  ];
  report('group', server, rows, {
    members,
    mode,
    loadProcesses: procs,
    single: { toLastMs: last, toFirstMs: first, ackMs: ack, incomplete },
    burst: {
      messages: burst,
      refused: burstRefused,
      delivered: burstDelivered,
      seconds: round(burstSeconds, 3),
    },
  });
  api.close();
}

run(main, 1800);

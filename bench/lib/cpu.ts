// CPU time of the processes taking part in a run (Linux /proc), to show what bounds a figure: the server's
// processes, the database, Redis and the load generator each as a share of one core.
import fs from 'node:fs';

const TICKS = 100; // USER_HZ on Linux

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  ticks: number;
}

function readProcs(): Proc[] {
  const out: Proc[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' ');
      out.push({ pid: Number(name), ppid: Number(f[1]), comm, ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

function treeTicks(procs: Proc[], root: number, skip: (p: Proc) => boolean = () => false): number {
  const children = new Map<number, Proc[]>();
  for (const p of procs) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  let sum = 0;
  const stack = procs.filter((p) => p.pid === root);
  while (stack.length) {
    const p = stack.pop()!;
    if (skip(p)) continue;
    sum += p.ticks;
    stack.push(...(children.get(p.pid) ?? []));
  }
  return sum;
}

function groups(serverPid: number | null): Record<string, number> {
  const procs = readProcs();
  const db = /^(mysqld|mariadbd|jongodb)$/;
  const byComm = (re: RegExp) => procs.filter((p) => re.test(p.comm)).reduce((s, p) => s + p.ticks, 0);
  const server = serverPid ? treeTicks(procs, serverPid) : 0;
  // The bench's own tree holds the server (and jongodb) when it started them: those count apart.
  const load = treeTicks(procs, process.pid, (p) => p.pid === serverPid || db.test(p.comm));
  return {
    server,
    load,
    database: byComm(db),
    redis: byComm(/^redis-server$/),
  };
}

/** Starts a CPU measurement; `stop()` returns each group's use in % of one core over the interval. */
export function cpuMeter(serverPid: number | null): { stop: () => Record<string, number> } {
  const before = groups(serverPid);
  const t0 = Date.now();
  return {
    stop() {
      const after = groups(serverPid);
      const seconds = (Date.now() - t0) / 1000;
      const out: Record<string, number> = {};
      for (const k of Object.keys(after)) {
        out[k] = Math.round(((after[k] - before[k]) / TICKS / seconds) * 100);
      }
      return out;
    },
  };
}

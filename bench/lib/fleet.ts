// The coordinator's side of the load processes (bench/lib/client-worker.ts): spawn, command, collect.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { BenchUser } from './client-worker';

const ROOT = path.resolve(__dirname, '../..');

interface Reply {
  seq: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** N forked load processes, each bound to its own loopback address (127.0.0.2, .3, ...). */
export class Fleet {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly procs: ChildProcess[];

  constructor(count: number) {
    this.procs = Array.from({ length: count }, () => {
      const child = fork(path.join(__dirname, 'client-worker.ts'), [], {
        execArgv: ['-r', path.join(ROOT, 'scripts', 'ts-register.js'), '--max-old-space-size=2048'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.on('message', (m: Reply) => {
        const w = this.waiting.get(m.seq);
        if (!w) return;
        this.waiting.delete(m.seq);
        if (m.ok) w.resolve(m.result);
        else w.reject(new Error(m.error));
      });
      return child;
    });
  }

  get size(): number {
    return this.procs.length;
  }

  /** The loopback address load process `i` connects from. */
  address(i: number): string {
    return `127.0.0.${2 + i}`;
  }

  /** Sends one command to process `i` and resolves with its result. */
  call<T = Record<string, unknown>>(i: number, cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.procs[i].send({ ...args, cmd, seq });
    });
  }

  /** The same command to every process (with per-process arguments). */
  all<T = Record<string, unknown>>(cmd: string, args: (i: number) => Record<string, unknown>): Promise<T[]> {
    return Promise.all(this.procs.map((_, i) => this.call<T>(i, cmd, args(i))));
  }

  /**
   * Waits (at most `withinMs`) until the processes have received `accepted` messages, then returns how many
   * arrived and their delivery latencies.
   */
  async deliveries(accepted: number, withinMs = 15_000): Promise<{ delivered: number; latencies: number[] }> {
    const until = Date.now() + withinMs;
    for (;;) {
      const st = await this.all<{ delivered: number }>('stats', () => ({ latencies: false }));
      if (st.reduce((s, r) => s + r.delivered, 0) >= accepted || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const st = await this.all<{ delivered: number; latencies: number[] }>('stats', () => ({
      latencies: true,
    }));
    return { delivered: st.reduce((s, r) => s + r.delivered, 0), latencies: st.flatMap((r) => r.latencies) };
  }

  /**
   * Opens one WebSocket per user, users dealt to the processes by `owner(userIndex)`; returns which
   * process holds each user.
   */
  async open(
    httpUrl: string,
    users: BenchUser[],
    owner: (userIndex: number) => number = (i) => i % this.size,
    concurrency = 100,
  ): Promise<{ holder: Map<string, number>; opened: number; failed: number; ms: number }> {
    const wsUrl = httpUrl.replace(/^http/, 'ws');
    const shares: BenchUser[][] = this.procs.map(() => []);
    const holder = new Map<string, number>();
    users.forEach((u, i) => {
      const p = owner(i);
      shares[p].push(u);
      holder.set(u.id, p);
    });
    const started = Date.now();
    const results = await this.all<{ opened: number; failed: number }>('open', (i) => ({
      wsUrl,
      httpUrl,
      users: shares[i],
      localAddress: this.address(i),
      concurrency,
    }));
    const opened = results.reduce((s, r) => s + r.opened, 0);
    const failed = results.reduce((s, r) => s + r.failed, 0);
    return { holder, opened, failed, ms: Date.now() - started };
  }

  /** Closes every socket and ends the processes. */
  async stop(): Promise<void> {
    await this.all('close', () => ({})).catch(() => undefined);
    for (const p of this.procs) p.disconnect();
  }
}

// The fault run shared by test/faults/chaos.test.ts (short) and bench/chaos.ts (long): server processes
// (src/main.ts, as `npm start` runs it) on a private Redis and MariaDB, clients that reconnect and page with
// `afterSeq` on `ready` and `resync`, senders that retry on the same clientMsgId over REST and WS, faults
// injected one after the other, and the checks: every acknowledged message reached its recipient exactly
// once, no clientMsgId stored twice, seqs 1..n without a gap, no 5xx but 503s.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import WebSocket from 'ws';
import { freePort, PrivateMariadb, PrivateRedis } from './private-servers';
import { privateConversationId } from './ids';

const ROOT = path.resolve(__dirname, '../..');
const REGISTER = path.join(ROOT, 'scripts/ts-register.js');
const MAIN = path.join(ROOT, 'src/main.ts');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type FaultName =
  'kill-worker' | 'kill-instance' | 'restart-redis' | 'restart-mariadb' | 'freeze-redis';

/** Every fault, in the order a run injects them by default. */
export const ALL_FAULTS: FaultName[] = [
  'kill-worker',
  'restart-redis',
  'restart-mariadb',
  'freeze-redis',
  'kill-instance',
];

/** What the server processes wrote that a fault must not cause: error lines and lines that are not JSON. */
export interface LogFindings {
  errors: Array<{ msg: unknown; instance: string }>;
  unparsed: string[];
}

/**
 * Log lines written by design: a worker was killed (the primary starts another), or one that was booting
 * while MySQL or Redis was down could not start (it exits 1 and the primary starts another).
 */
const EXPECTED_ERRORS = new Set(['worker exited; starting another', 'failed to start']);

/** One `src/main.ts` process group (the primary and its workers, or a single worker). */
class MainProcess {
  private constructor(
    readonly label: string,
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
  ) {}

  static async start(
    label: string,
    env: Record<string, string>,
    findings: LogFindings,
  ): Promise<MainProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, ['-r', REGISTER, MAIN], {
      cwd: ROOT,
      env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so that killing the instance kills its workers too.
      detached: true,
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    lines(child.stdout!, (line) => {
      let parsed: { level?: string; msg?: unknown };
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        findings.unparsed.push(`${label}: ${line}`);
        return;
      }
      if ((parsed.level === 'error' || parsed.level === 'fatal') && !EXPECTED_ERRORS.has(String(parsed.msg)))
        findings.errors.push({ msg: parsed.msg, instance: label });
    });
    lines(child.stderr!, (line) => findings.unparsed.push(`${label} stderr: ${line}`));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`instance ${label} exited during start`);
      const ok = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) })
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) return new MainProcess(label, url, child, exited);
      if (Date.now() > deadline) throw new Error(`instance ${label} not ready in 90 s`);
      await sleep(200);
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The pids of the primary's workers (none when it runs a single worker itself). */
  workerPids(): number[] {
    try {
      const text = fs.readFileSync(`/proc/${this.pid}/task/${this.pid}/children`, 'utf8');
      return text.split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** SIGKILLs one worker; the primary starts another. */
  killWorker(): number {
    const [worker] = this.workerPids();
    if (!worker) throw new Error(`instance ${this.label} has no workers to kill`);
    process.kill(worker, 'SIGKILL');
    return worker;
  }

  /** SIGKILLs the whole process group (primary and workers), like a crashed host. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    process.kill(-this.pid, 'SIGKILL');
    await this.exited;
  }

  /** SIGTERM (graceful stop), SIGKILL after 20 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      try {
        process.kill(-this.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 20_000);
    await this.exited;
    clearTimeout(timer);
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // no worker left behind
    }
  }
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) onLine(line);
    }
  });
}

/** Counters every client adds to. */
export interface ClientStats {
  /** REST responses by status, and WS `error` frames by code (`ws:<CODE>`). */
  statuses: Record<string, number>;
  /** 5xx answers other than 503, with when they came. */
  bad5xx: Array<{ status: string; at: number }>;
  pushes: number;
  repeatedPushes: number;
  resyncEvents: number;
  pages: number;
  reconnects: number;
  /** A seq seen with two different message ids. */
  conflicts: number;
  restSends: number;
  wsSends: number;
  /** Attempts that were retried (503, timeouts, lost connections). */
  retries: number;
}

function newStats(): ClientStats {
  return {
    statuses: {},
    bad5xx: [],
    pushes: 0,
    repeatedPushes: 0,
    resyncEvents: 0,
    pages: 0,
    reconnects: 0,
    conflicts: 0,
    restSends: 0,
    wsSends: 0,
    retries: 0,
  };
}

interface User {
  id: string;
  token: string;
}

interface Acked {
  conversationId: string;
  id: string;
  seq: number;
  senderId: string;
  clientMsgId: string;
}

/** A statusless JSON call with a timeout; null on a network error or timeout. */
async function call(
  stats: ClientStats,
  url: string,
  method: string,
  pathname: string,
  token: string | null,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> } | null> {
  try {
    const res = await fetch(url + pathname, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    const key = String(res.status);
    stats.statuses[key] = (stats.statuses[key] ?? 0) + 1;
    if (res.status >= 500 && res.status !== 503) stats.bad5xx.push({ status: key, at: Date.now() });
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  } catch {
    stats.statuses.network = (stats.statuses.network ?? 0) + 1;
    return null;
  }
}

/**
 * One device of a user: a WebSocket to any live instance that reconnects when it drops, pages every
 * conversation with `afterSeq` on `ready` and on `resync`, and keeps what it received by seq.
 */
class FaultClient {
  /** conversation -> seq -> message id */
  readonly seen = new Map<string, Map<number, string>>();
  private ws: WebSocket | null = null;
  private stopped = false;
  private paging = false;
  private pageAgain = false;
  private frameSeq = 0;
  private readonly waiting = new Map<
    string,
    (frame: { type: string; data: Record<string, unknown> }) => void
  >();

  constructor(
    readonly user: User,
    readonly conversations: string[],
    private readonly urls: () => string[],
    private readonly stats: ClientStats,
  ) {
    for (const c of conversations) this.seen.set(c, new Map());
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.ws?.terminate();
  }

  /** Whether the message `id` with `seq` is among those received in `conversationId`. */
  has(conversationId: string, seq: number, id: string): boolean {
    return this.seen.get(conversationId)?.get(seq) === id;
  }

  private pick(): string {
    const urls = this.urls();
    return urls[Math.floor(Math.random() * urls.length)];
  }

  private connect(): void {
    if (this.stopped) return;
    const url = this.pick().replace(/^http/, 'ws');
    const ws = new WebSocket(`${url}/ws?token=${encodeURIComponent(this.user.token)}`);
    this.ws = ws;
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { type: string; data: Record<string, unknown> };
      if (frame.type === 'ready') void this.page();
      else if (frame.type === 'resync') {
        this.stats.resyncEvents++;
        void this.page();
      } else if (frame.type === 'message') {
        this.stats.pushes++;
        this.record(frame.data, true);
      } else if (frame.type === 'ack' || frame.type === 'error') {
        const id = frame.data.id as string | undefined;
        const waiter = id ? this.waiting.get(id) : undefined;
        if (waiter) {
          this.waiting.delete(id!);
          waiter(frame);
        }
      }
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      for (const [id, waiter] of this.waiting) {
        this.waiting.delete(id);
        waiter({ type: 'closed', data: {} });
      }
      if (this.stopped) return;
      this.stats.reconnects++;
      setTimeout(() => this.connect(), 200 + Math.random() * 300);
    });
  }

  private record(m: Record<string, unknown>, pushed: boolean): void {
    const byseq = this.seen.get(m.conversationId as string);
    if (!byseq) return;
    const seq = m.seq as number;
    const had = byseq.get(seq);
    if (had === undefined) byseq.set(seq, m.id as string);
    else if (had !== m.id) this.stats.conflicts++;
    else if (pushed) this.stats.repeatedPushes++;
  }

  /** The highest seq below which nothing is missing. */
  private contiguous(conversationId: string): number {
    const byseq = this.seen.get(conversationId)!;
    let n = 0;
    while (byseq.has(n + 1)) n++;
    return n;
  }

  /** Pages every conversation from its first missing seq; one run at a time, again if asked meanwhile. */
  private async page(): Promise<void> {
    if (this.paging) {
      this.pageAgain = true;
      return;
    }
    this.paging = true;
    try {
      do {
        this.pageAgain = false;
        for (const cid of this.conversations) {
          for (;;) {
            if (this.stopped) return;
            const after = this.contiguous(cid);
            const res = await call(
              this.stats,
              this.pick(),
              'GET',
              `/api/v1/conversations/${encodeURIComponent(cid)}/messages?afterSeq=${after}&limit=100`,
              this.user.token,
            );
            if (!res || res.status !== 200) {
              await sleep(300);
              continue;
            }
            this.stats.pages++;
            const items = res.body.items as Array<Record<string, unknown>>;
            for (const m of items) this.record(m, false);
            if (items.length < 100) break;
          }
        }
      } while (this.pageAgain);
    } finally {
      this.paging = false;
    }
  }

  /** Sends until acknowledged, retrying on the same clientMsgId; returns the stored message. */
  async send(conversationId: string, mode: 'rest' | 'ws', text: string): Promise<Acked> {
    const clientMsgId = `${mode}-${randomBytes(8).toString('hex')}`;
    const data = { conversationId, type: 'text', content: { text }, clientMsgId };
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        this.stats.retries++;
        await sleep(Math.min(100 * attempt, 1000));
      }
      if (this.stopped || attempt > 3000) throw new Error(`gave up sending ${clientMsgId}`);
      let message: Record<string, unknown> | null = null;
      if (mode === 'rest' || !this.ws || this.ws.readyState !== WebSocket.OPEN) {
        this.stats.restSends++;
        const res = await call(this.stats, this.pick(), 'POST', '/api/v1/messages', this.user.token, data);
        if (res && (res.status === 200 || res.status === 201)) message = res.body;
        else if (res && res.status < 500 && res.status !== 429 && res.status !== 401)
          throw new Error(`send refused: ${res.status} ${JSON.stringify(res.body)}`);
      } else {
        this.stats.wsSends++;
        const id = `f${++this.frameSeq}`;
        const ws = this.ws;
        const frame = await new Promise<{ type: string; data: Record<string, unknown> }>((resolve) => {
          const timer = setTimeout(() => {
            this.waiting.delete(id);
            resolve({ type: 'timeout', data: {} });
          }, 10_000);
          this.waiting.set(id, (f) => {
            clearTimeout(timer);
            resolve(f);
          });
          ws.send(JSON.stringify({ type: 'send', id, data }));
        });
        if (frame.type === 'ack') message = frame.data.message as Record<string, unknown>;
        else if (frame.type === 'error') {
          const code = frame.data.code as string;
          const key = `ws:${code}`;
          this.stats.statuses[key] = (this.stats.statuses[key] ?? 0) + 1;
          if (code === 'INTERNAL') this.stats.bad5xx.push({ status: key, at: Date.now() });
          else if (code !== 'UNAVAILABLE' && code !== 'RATE_LIMITED')
            throw new Error(`send refused: ${JSON.stringify(frame.data)}`);
        }
      }
      if (message) {
        this.record(message, false);
        return {
          conversationId,
          id: message.id as string,
          seq: message.seq as number,
          senderId: this.user.id,
          clientMsgId,
        };
      }
    }
  }
}

export interface ChaosOptions {
  /** Pairs of friends sending to each other. */
  pairs: number;
  /** Workers of each instance (a primary with workers when more than one). */
  instances: number[];
  /** Pause of each sender between two acknowledged sends. */
  sendIntervalMs: number;
  faults: FaultName[];
  /** Normal running before each fault and after the last. */
  settleMs: number;
  /** How long Redis stays frozen. */
  freezeMs: number;
  /** How long after the run the recipients may take to have every message (by push or resync). */
  convergeMs: number;
  log: (line: string) => void;
}

export interface FaultResult {
  fault: FaultName;
  /** From injection until the fault was undone (the dependency or instance started again). */
  outageMs: number;
  /** From then until a message sent through every instance was pushed to its recipient. */
  recoveryMs: number;
  /** What starting the dependency took, when it was restarted. */
  restartMs: number | null;
}

export interface ChaosReport {
  faults: FaultResult[];
  durationMs: number;
  acknowledged: number;
  stored: number;
  /** Recipient deliveries expected: one per acknowledged message. */
  expectedDeliveries: number;
  missing: number;
  /** A clientMsgId stored twice, or acknowledged with two different ids. */
  duplicates: number;
  /** Conversations whose seqs are not 1..n. */
  gaps: number;
  /** Stored messages whose sender never had them acknowledged. */
  storedNotAcknowledged: number;
  bad5xx: ClientStats['bad5xx'];
  statuses: Record<string, number>;
  logs: LogFindings;
  client: Omit<ClientStats, 'statuses' | 'bad5xx'>;
  setup: { redisStartMs: number; mariadbStartMs: number; instancesStartMs: number };
}

/** Runs the whole fault run; everything it started is stopped before it returns or throws. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { log } = options;
  const cleanups: Array<() => Promise<void>> = [];
  const started = Date.now();
  try {
    const redis = await PrivateRedis.start();
    cleanups.push(() => redis.destroy());
    const db = await PrivateMariadb.start();
    cleanups.push(() => db.destroy());
    const setup = { redisStartMs: redis.lastStartMs, mariadbStartMs: db.lastStartMs, instancesStartMs: 0 };
    log(`private redis :${redis.port} (${redis.lastStartMs} ms), mariadb :${db.port} (${db.lastStartMs} ms)`);
    const findings: LogFindings = { errors: [], unparsed: [] };
    const env = {
      NODE_ENV: 'development',
      MYSQL_URL: db.url('jim_chaos'),
      MYSQL_POOL_SIZE: '5',
      REDIS_URL: redis.url,
      REDIS_PREFIX: 'chaos:',
      REDIS_COMMAND_TIMEOUT_MS: '1000',
      PRESENCE_TTL_SECONDS: '6',
      CAPTCHA_ENABLED: 'false',
      RATE_LIMIT_REGISTER_PER_MINUTE: '1000000',
      RATE_LIMIT_LOGIN_PER_MINUTE: '1000000',
      RATE_LIMIT_MESSAGES_PER_SECOND: '1000000',
      WS_FRAMES_PER_SECOND: '100000',
      LOG_LEVEL: 'warn',
    };
    const fleet: Array<MainProcess | null> = [];
    const instancesAt = Date.now();
    // The first boot creates the schema; the others start together once it exists.
    const startOne = async (i: number) => {
      const workers = String(options.instances[i]);
      fleet[i] = await MainProcess.start(`i${i}`, { ...env, SERVER_WORKERS: workers }, findings);
    };
    cleanups.push(async () => {
      await Promise.all(fleet.map((p) => p?.stop()));
    });
    fleet.length = options.instances.length;
    fleet.fill(null);
    await startOne(0);
    await Promise.all(options.instances.slice(1).map((_, i) => startOne(i + 1)));
    setup.instancesStartMs = Date.now() - instancesAt;
    log(`${fleet.length} instances up in ${setup.instancesStartMs} ms`);
    const urls = () => fleet.filter((p): p is MainProcess => p !== null).map((p) => p.url);

    const stats = newStats();
    const setupUrl = urls()[0];
    const register = async (n: number): Promise<User> => {
      const res = await call(stats, setupUrl, 'POST', '/api/v1/auth/register', null, {
        username: `chaos_${n}_${randomBytes(3).toString('hex')}`,
        password: 'Passw0rd!',
      });
      if (!res || res.status !== 201) throw new Error(`register failed: ${res?.status}`);
      return { id: (res.body.user as { id: string }).id, token: res.body.token as string };
    };
    const befriend = async (a: User, b: User) => {
      const req = await call(stats, setupUrl, 'POST', '/api/v1/friend-requests', a.token, { userId: b.id });
      if (!req || req.status !== 201) throw new Error(`friend request failed: ${req?.status}`);
      const acc = await call(
        stats,
        setupUrl,
        'POST',
        `/api/v1/friend-requests/${req.body.id as string}/accept`,
        b.token,
        {},
      );
      if (!acc || acc.status !== 200) throw new Error(`accept failed: ${acc?.status}`);
    };
    const cidOf = (a: User, b: User) => privateConversationId(a.id, b.id);

    // One more pair than asked: the probe that measures recovery.
    const pairs: Array<[User, User]> = [];
    for (let i = 0; i <= options.pairs; i++) {
      const a = await register(2 * i);
      const b = await register(2 * i + 1);
      await befriend(a, b);
      pairs.push([a, b]);
    }
    const clients = new Map<string, FaultClient>();
    for (const [a, b] of pairs) {
      const cid = cidOf(a, b);
      clients.set(a.id, new FaultClient(a, [cid], urls, stats));
      clients.set(b.id, new FaultClient(b, [cid], urls, stats));
    }
    for (const c of clients.values()) c.start();
    cleanups.push(async () => {
      for (const c of clients.values()) c.stop();
    });
    log(`${pairs.length} pairs registered, befriended and connected`);

    const acked: Acked[] = [];
    const ackedIds = new Map<string, string>();
    let duplicates = 0;
    const onAck = (m: Acked) => {
      const key = `${m.senderId}/${m.clientMsgId}`;
      const before = ackedIds.get(key);
      if (before !== undefined && before !== m.id) duplicates++;
      if (before === undefined) acked.push(m);
      ackedIds.set(key, m.id);
    };

    const [probeA, probeB] = pairs[pairs.length - 1];
    const probeCid = cidOf(probeA, probeB);
    const probeReceiver = clients.get(probeB.id)!;
    let probeN = 0;
    /** Sends through every live instance and waits for each push (or resync page) to reach the peer. */
    const recovered = async (): Promise<void> => {
      for (const url of urls()) {
        for (;;) {
          const body = {
            conversationId: probeCid,
            type: 'text',
            content: { text: 'probe' },
            clientMsgId: `probe-${++probeN}`,
          };
          const res = await call(stats, url, 'POST', '/api/v1/messages', probeA.token, body);
          if (res && (res.status === 201 || res.status === 200)) {
            const m = res.body as { id: string; seq: number };
            onAck({
              conversationId: probeCid,
              id: m.id,
              seq: m.seq,
              senderId: probeA.id,
              clientMsgId: body.clientMsgId,
            });
            const deadline = Date.now() + 60_000;
            while (!probeReceiver.has(probeCid, m.seq, m.id) && Date.now() < deadline) await sleep(25);
            break;
          }
          await sleep(100);
        }
      }
    };

    let running = true;
    const senders = pairs.slice(0, -1).flatMap(([a, b], i) =>
      [a, b].map(async (u, j) => {
        const client = clients.get(u.id)!;
        const cid = cidOf(a, b);
        let n = 0;
        while (running) {
          const mode = (i + j + n) % 2 === 0 ? 'ws' : 'rest';
          onAck(await client.send(cid, mode, `m${++n}`));
          await sleep(options.sendIntervalMs * (0.5 + Math.random()));
        }
      }),
    );

    const results: FaultResult[] = [];
    for (const fault of options.faults) {
      await sleep(options.settleMs);
      const injectedAt = Date.now();
      let restartMs: number | null = null;
      log(`fault: ${fault}`);
      if (fault === 'kill-worker') {
        const target = fleet.find((p) => p && p.workerPids().length > 0);
        if (!target) throw new Error('no instance with workers to kill one of');
        target.killWorker();
      } else if (fault === 'kill-instance') {
        const i = fleet.length - 1;
        const victim = fleet[i]!;
        fleet[i] = null;
        await victim.kill();
        const at = Date.now();
        fleet[i] = await MainProcess.start(
          `i${i}b`,
          { ...env, SERVER_WORKERS: String(options.instances[i]) },
          findings,
        );
        restartMs = Date.now() - at;
      } else if (fault === 'restart-redis') {
        await redis.restart('kill');
        restartMs = redis.lastStartMs;
      } else if (fault === 'restart-mariadb') {
        await db.restart('stop');
        restartMs = db.lastStartMs;
      } else {
        redis.freeze();
        await sleep(options.freezeMs);
        redis.thaw();
      }
      const restoredAt = Date.now();
      await recovered();
      const result = {
        fault,
        outageMs: restoredAt - injectedAt,
        recoveryMs: Date.now() - restoredAt,
        restartMs,
      };
      results.push(result);
      log(`  outage ${result.outageMs} ms, recovered ${result.recoveryMs} ms after`);
    }
    await sleep(options.settleMs);
    running = false;
    await Promise.all(senders);
    log(`sending stopped: ${acked.length} acknowledged`);

    // Every acknowledged message must reach its recipient by push or by a page the server's resync (or a
    // reconnection) set off; nothing here pages on the clients' behalf.
    const recipientOf = (m: Acked): FaultClient => {
      const pair = pairs.find(([a, b]) => a.id === m.senderId || b.id === m.senderId)!;
      return clients.get(pair[0].id === m.senderId ? pair[1].id : pair[0].id)!;
    };
    const missingNow = () => acked.filter((m) => !recipientOf(m).has(m.conversationId, m.seq, m.id));
    const convergeDeadline = Date.now() + options.convergeMs;
    while (missingNow().length && Date.now() < convergeDeadline) await sleep(200);
    const missing = missingNow();
    if (missing.length) log(`missing: ${JSON.stringify(missing.slice(0, 5))}`);

    const conn = await mysql.createConnection({
      host: '127.0.0.1',
      port: db.port,
      user: 'root',
      database: 'jim_chaos',
    });
    let stored: number;
    let storedDuplicates: number;
    let gaps: number;
    let storedNotAcknowledged: number;
    try {
      const [rows] = await conn.query('SELECT sender_id, client_msg_id FROM messages');
      const list = rows as Array<{ sender_id: string; client_msg_id: string }>;
      stored = list.length;
      const keys = new Set(list.map((r) => `${r.sender_id}/${r.client_msg_id}`));
      storedDuplicates = list.length - keys.size;
      storedNotAcknowledged = [...keys].filter((k) => !ackedIds.has(k)).length;
      const [convs] = await conn.query(
        'SELECT conversation_id, COUNT(*) AS n, MIN(seq) AS lo, MAX(seq) AS hi FROM messages GROUP BY conversation_id',
      );
      gaps = (convs as Array<{ n: number; lo: string; hi: string }>).filter(
        (c) => Number(c.lo) !== 1 || Number(c.hi) !== Number(c.n),
      ).length;
    } finally {
      await conn.end();
    }
    const { statuses, bad5xx, ...client } = stats;
    return {
      faults: results,
      durationMs: Date.now() - started,
      acknowledged: acked.length,
      stored,
      expectedDeliveries: acked.length,
      missing: missing.length,
      duplicates: duplicates + storedDuplicates,
      gaps,
      storedNotAcknowledged,
      bad5xx,
      statuses,
      logs: findings,
      client,
      setup,
    };
  } finally {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  }
}

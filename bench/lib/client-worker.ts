// A load process for the messaging scenarios: holds one WebSocket per user, sends messages (WS `send` or
// REST) on command, and records every `message` event it receives. Message texts carry the send time and a
// key (`b|<sentAtMs>|<key>|<tracked>`), so the receiving process measures send → receipt latency with the
// machine's clock, whichever process sent it. Commands and replies travel over the fork IPC channel.
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { Api } from './http';
import { closedLoop, inLanes } from './lanes';
import { XmppSession } from './xmpp';

/** A bench user as the coordinator hands it out. */
export interface BenchUser {
  id: string;
  token: string;
}

/** Who sends into which conversation. */
export interface Sender {
  userId: string;
  conversationId: string;
}

interface Conn {
  user: BenchUser;
  ws: WebSocket;
  nextId: number;
  pending: Map<string, (reply: { ok: boolean; code?: string }) => void>;
}

interface KeyStat {
  n: number;
  first: number;
  last: number;
}

const now = () => performance.timeOrigin + performance.now();
const conns = new Map<string, Conn>();
// XMPP sessions (the side-by-side peer), by user name.
const xconns = new Map<string, XmppSession>();
let api: Api | null = null;
let counter = 0;

// Receipts since the last reset.
let latencies: number[] = [];
let delivered = 0;
let duplicates = 0;
let keyStats = new Map<string, KeyStat>();
let seen = new Set<string>();
// Only messages whose key starts with this count (late arrivals of an earlier phase do not).
let countPrefix = '';
// Texts are padded to this many characters (0: the bare header) by the running send plan.
let textLength = 0;

function onFrame(conn: Conn, raw: WebSocket.RawData): void {
  const at = now();
  const frame = JSON.parse(raw.toString()) as { type: string; data?: Record<string, unknown> };
  const data = frame.data ?? {};
  if (frame.type === 'ack' || frame.type === 'error') {
    const id = data.id as string | undefined;
    const waiter = id ? conn.pending.get(id) : undefined;
    if (waiter) {
      conn.pending.delete(id!);
      waiter(frame.type === 'ack' ? { ok: true } : { ok: false, code: String(data.code) });
    }
    return;
  }
  if (frame.type !== 'message' || data.senderId === conn.user.id) return;
  const text = (data.content as { text?: string } | null)?.text;
  if (typeof text === 'string') recordReceipt(conn.user.id, text, at);
}

/** Counts one received bench message (`b|<sentAtMs>|<key>|<tracked>`) for `userId`. */
function recordReceipt(userId: string, text: string, at: number): void {
  if (!text.startsWith('b|')) return;
  const [, sentAt, key, tracked] = text.split('|');
  if (!key.startsWith(countPrefix)) return;
  if (tracked === '1') {
    const mark = `${userId}|${key}`;
    if (seen.has(mark)) {
      duplicates++;
      return;
    }
    seen.add(mark);
    const s = keyStats.get(key);
    if (s) {
      s.n++;
      s.last = Math.max(s.last, at);
      s.first = Math.min(s.first, at);
    } else keyStats.set(key, { n: 1, first: at, last: at });
  }
  delivered++;
  latencies.push(at - Number(sentAt));
}

function openOne(wsUrl: string, user: BenchUser, localAddress?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${wsUrl}/ws?token=${encodeURIComponent(user.token)}`, {
      perMessageDeflate: false,
      localAddress,
    });
    const conn: Conn = { user, ws, nextId: 0, pending: new Map() };
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      resolve(ok);
    };
    ws.once('message', (data) => {
      const ok = JSON.parse(data.toString()).type === 'ready';
      if (ok) {
        conns.set(user.id, conn);
        ws.on('message', (raw) => onFrame(conn, raw));
      }
      done(ok);
    });
    ws.on('close', () => {
      for (const w of conn.pending.values()) w({ ok: false, code: 'CLOSED' });
      conn.pending.clear();
    });
    ws.once('unexpected-response', () => done(false));
    ws.on('error', () => done(false));
  });
}

async function open(msg: {
  wsUrl: string;
  httpUrl: string;
  users: BenchUser[];
  localAddress?: string;
  concurrency: number;
}): Promise<Record<string, unknown>> {
  api = new Api(msg.httpUrl, 256, msg.localAddress);
  const started = Date.now();
  let opened = 0;
  let failed = 0;
  await inLanes(msg.users, msg.concurrency, async (user) => {
    if (await openOne(msg.wsUrl, user, msg.localAddress)) opened++;
    else failed++;
  });
  return { opened, failed, ms: Date.now() - started };
}

/** Opens one XMPP session per user (the side-by-side peer); senders then use mode `xmpp`. */
async function openXmpp(msg: {
  wsUrl: string;
  domain: string;
  users: Array<{ user: string; password: string }>;
  localAddress?: string;
  concurrency: number;
}): Promise<Record<string, unknown>> {
  const started = Date.now();
  let opened = 0;
  let failed = 0;
  await inLanes(msg.users, msg.concurrency, async (u) => {
    try {
      const s = await XmppSession.connect(
        msg.wsUrl,
        msg.domain,
        u.user,
        u.password,
        'bench',
        msg.localAddress,
      );
      s.onMessage = (m) => recordReceipt(u.user, m.body, now());
      xconns.set(u.user, s);
      opened++;
    } catch {
      failed++;
    }
  });
  return { opened, failed, ms: Date.now() - started };
}

function padded(header: string): string {
  return header.length + 1 < textLength ? `${header}|${'x'.repeat(textLength - header.length - 1)}` : header;
}

function body(conversationId: string, key: string, tracked: boolean) {
  return {
    conversationId,
    type: 'text',
    content: { text: padded(`b|${now().toFixed(3)}|${key}|${tracked ? 1 : 0}`) },
    clientMsgId: `bench-${process.pid}-${key}`,
  };
}

/**
 * Sends one message; resolves with whether it was accepted (ack / 201; for XMPP the server's stream
 * management acknowledgement) and the error code otherwise. For `xmpp`, `conversationId` is the peer's JID.
 */
function sendMessage(
  mode: 'ws' | 'rest' | 'xmpp',
  sender: Sender,
  key: string,
  tracked: boolean,
): Promise<{ ok: boolean; code?: string }> {
  if (mode === 'xmpp') {
    const x = xconns.get(sender.userId);
    if (!x) return Promise.resolve({ ok: false, code: 'NO_CONNECTION' });
    const text = body(sender.conversationId, key, tracked).content.text;
    return x
      .sendMessage(sender.conversationId, `m${++counter}`, text)
      .then((ok) => (ok ? { ok } : { ok, code: 'CLOSED' }));
  }
  const conn = conns.get(sender.userId);
  if (!conn) return Promise.resolve({ ok: false, code: 'NO_CONNECTION' });
  const data = body(sender.conversationId, key, tracked);
  if (mode === 'rest') {
    return api!.call<{ error?: { code: string } }>('POST', '/api/v1/messages', conn.user.token, data).then(
      (r) =>
        r.status === 201 ? { ok: true } : { ok: false, code: r.body?.error?.code ?? `HTTP_${r.status}` },
      (err: Error) => ({ ok: false, code: err.message.slice(0, 60) }),
    );
  }
  return new Promise((resolve) => {
    if (conn.ws.readyState !== WebSocket.OPEN) return resolve({ ok: false, code: 'CLOSED' });
    const id = String(++conn.nextId);
    conn.pending.set(id, resolve);
    conn.ws.send(JSON.stringify({ type: 'send', id, data }));
  });
}

interface SendPlan {
  mode: 'ws' | 'rest' | 'xmpp';
  senders: Sender[];
  /** Messages per second offered by this process; 0 runs closed-loop with `window` in flight per sender. */
  rate: number;
  window: number;
  durationMs: number;
  /** Every n-th message is tracked per recipient (0: none). */
  trackEvery: number;
  keyPrefix: string;
  /** Open-loop only: above this many messages in flight, the tick's messages are skipped (counted). */
  maxInFlight: number;
  /** Pad message texts to this many characters (default: no padding). */
  textLength?: number;
}

/** What one load process reports for a send plan. */
export interface PlanResult {
  offered: number;
  accepted: number;
  failed: number;
  skipped: number;
  unanswered: number;
  codes: Record<string, number>;
  sendingMs: number;
  acceptingMs: number;
  ackLatencies: number[];
  tracked: string[];
}

async function runPlan(plan: SendPlan): Promise<PlanResult> {
  textLength = plan.textLength ?? 0;
  let offered = 0;
  let accepted = 0;
  let failed = 0;
  let skipped = 0;
  let inFlight = 0;
  const codes: Record<string, number> = {};
  const ackLatencies: number[] = [];
  const tracked: string[] = [];
  const started = now();
  const deadline = started + plan.durationMs;
  let rr = 0;
  let lastAckAt = started;

  const fire = async (sender: Sender) => {
    const n = ++counter;
    const key = `${plan.keyPrefix}${process.pid}.${n}`;
    const track = plan.trackEvery > 0 && n % plan.trackEvery === 0;
    offered++;
    inFlight++;
    const t0 = now();
    const r = await sendMessage(plan.mode, sender, key, track);
    inFlight--;
    if (r.ok) {
      accepted++;
      lastAckAt = now();
      ackLatencies.push(now() - t0);
      if (track) tracked.push(`${sender.conversationId}|${sender.userId}|${key}`);
    } else {
      failed++;
      codes[r.code ?? 'UNKNOWN'] = (codes[r.code ?? 'UNKNOWN'] ?? 0) + 1;
    }
  };

  if (plan.rate > 0) {
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const t = now();
        if (t >= deadline) {
          clearInterval(timer);
          resolve();
          return;
        }
        const due = Math.floor(((t - started) / 1000) * plan.rate) - offered - skipped;
        for (let i = 0; i < due; i++) {
          if (inFlight >= plan.maxInFlight) {
            skipped++;
            continue;
          }
          void fire(plan.senders[rr++ % plan.senders.length]);
        }
      }, 2);
    });
  } else {
    const lane = async (sender: Sender) => {
      while (now() < deadline) await fire(sender);
    };
    const lanes: Promise<void>[] = [];
    for (const s of plan.senders) for (let w = 0; w < plan.window; w++) lanes.push(lane(s));
    await Promise.all(lanes);
  }
  const sendingMs = now() - started;
  // Let the last sends answer (bounded), so a backlog does not spill into the next phase.
  const waitUntil = now() + 60_000;
  while (inFlight > 0 && now() < waitUntil) await new Promise((r) => setTimeout(r, 10));
  return {
    offered,
    accepted,
    failed,
    skipped,
    unanswered: inFlight,
    codes,
    sendingMs,
    // Until the last acceptance: when the server falls behind an open-loop rate, acceptances run late.
    acceptingMs: lastAckAt - started,
    ackLatencies,
    tracked,
  };
}

async function sendOne(msg: { mode: 'ws' | 'rest'; sender: Sender; key: string }) {
  const sentAt = now();
  const r = await sendMessage(msg.mode, msg.sender, msg.key, true);
  return { ...r, sentAt, ackAt: now() };
}

interface HttpLoad {
  httpUrl: string;
  localAddress?: string;
  requests: Array<{ path: string; token: string }>;
  concurrency: number;
  durationMs: number;
}

/** Closed-loop GETs: `concurrency` lanes each picking a random request until the deadline. */
async function httpLoad(plan: HttpLoad): Promise<Record<string, unknown>> {
  const client = new Api(plan.httpUrl, plan.concurrency, plan.localAddress);
  let items = 0;
  const result = await closedLoop(plan.concurrency, plan.durationMs, async () => {
    const r = plan.requests[Math.floor(Math.random() * plan.requests.length)];
    try {
      const reply = await client.call<{ items?: unknown[] }>('GET', r.path, r.token);
      items += reply.body?.items?.length ?? 0;
      return String(reply.status);
    } catch {
      return 'ERR';
    }
  });
  client.close();
  return { ...result, items };
}

interface MamLoad {
  /** Archive pages to ask for: the user whose session asks, and the peer JID. */
  queries: Array<{ user: string; with: string }>;
  pageSize: number;
  concurrency: number;
  durationMs: number;
}

/** Closed-loop XEP-0313 pages over the XMPP sessions: `concurrency` lanes picking random queries. */
async function mamLoad(plan: MamLoad): Promise<Record<string, unknown>> {
  let items = 0;
  const result = await closedLoop(plan.concurrency, plan.durationMs, async () => {
    const q = plan.queries[Math.floor(Math.random() * plan.queries.length)];
    const session = xconns.get(q.user);
    if (!session) throw new Error(`no XMPP session for ${q.user}`);
    const n = await session.mamPage(q.with, plan.pageSize);
    if (n > 0) items += n;
    return n < 0 ? 'error' : n === plan.pageSize ? 'full' : 'short';
  });
  return { ...result, items };
}

function stats(msg: { latencies: boolean; keys?: string[] }): Record<string, unknown> {
  const perKey: Record<string, KeyStat> = {};
  if (msg.keys) {
    for (const k of msg.keys) {
      const s = keyStats.get(k);
      if (s) perKey[k] = s;
    }
  } else for (const [k, s] of keyStats) perKey[k] = s;
  return {
    delivered,
    duplicates,
    connections: conns.size + xconns.size,
    perKey,
    latencies: msg.latencies ? latencies : undefined,
  };
}

function reset(prefix: string): void {
  countPrefix = prefix;
  latencies = [];
  delivered = 0;
  duplicates = 0;
  keyStats = new Map();
  seen = new Set();
}

type Command = { cmd: string; seq: number } & Record<string, unknown>;

async function handle(msg: Command): Promise<unknown> {
  switch (msg.cmd) {
    case 'open':
      return open(msg as unknown as Parameters<typeof open>[0]);
    case 'openXmpp':
      return openXmpp(msg as unknown as Parameters<typeof openXmpp>[0]);
    case 'send':
      return runPlan(msg as unknown as SendPlan);
    case 'sendOne':
      return sendOne(msg as unknown as Parameters<typeof sendOne>[0]);
    case 'http':
      return httpLoad(msg as unknown as HttpLoad);
    case 'mam':
      return mamLoad(msg as unknown as MamLoad);
    case 'stats':
      return stats(msg as unknown as Parameters<typeof stats>[0]);
    case 'reset':
      reset(typeof msg.prefix === 'string' ? msg.prefix : '');
      return {};
    case 'close':
      for (const c of conns.values()) c.ws.terminate();
      conns.clear();
      for (const x of xconns.values()) x.close();
      xconns.clear();
      api?.close();
      return {};
    default:
      throw new Error(`unknown command ${msg.cmd}`);
  }
}

process.on('message', (msg: Command) => {
  handle(msg).then(
    (result) => process.send?.({ seq: msg.seq, ok: true, result }),
    (err: unknown) => process.send?.({ seq: msg.seq, ok: false, error: String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));

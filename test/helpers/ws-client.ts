import WebSocket from 'ws';
import type { TestApp } from './app';

/** A frame received from the server. */
export interface Frame {
  type: string;
  data: Record<string, unknown>;
}

/** The one WebSocket test client: a raw `ws` client that queues every frame so tests can await them. */
export class TestClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.wake();
      });
    });
    ws.on('error', () => undefined);
  }

  /** Opens `/ws` with the token in the query string (or `via: 'header'`) and waits for the socket to open. */
  static connect(
    baseUrl: string,
    token: string,
    options: { via?: 'query' | 'header'; autoPong?: boolean } = {},
  ): Promise<TestClient> {
    const wsUrl = baseUrl.replace(/^http/, 'ws');
    const autoPong = options.autoPong ?? true;
    const ws =
      options.via === 'header'
        ? new WebSocket(`${wsUrl}/ws`, { headers: { Authorization: `Bearer ${token}` }, autoPong })
        : new WebSocket(`${wsUrl}/ws?token=${encodeURIComponent(token)}`, { autoPong });
    const client = new TestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Opens `/ws` of a test app with the token and waits for `ready`. */
  static async open(app: Pick<TestApp, 'instance'>, token: string): Promise<TestClient> {
    const client = await TestClient.connect(app.instance.url, token);
    await client.next('ready');
    return client;
  }

  /** The underlying socket (the same as `ws`). */
  get socket(): WebSocket {
    return this.ws;
  }

  /**
   * Removes and returns the first queued frame of `type`, waiting for it if needed. Without a type, the first
   * frame of any type but `resync`: the server may send that one at any moment (a lapsed lease on a busy
   * machine, another instance that died), and a test that expects it asks for it by name.
   */
  async next(type?: string, timeoutMs = 10_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.frames.findIndex((f) => (type === undefined ? f.type !== 'resync' : f.type === type));
      if (at >= 0) return this.frames.splice(at, 1)[0];
      if (this.ws.readyState === WebSocket.CLOSED)
        throw new Error(`closed while waiting for ${type ?? 'a frame'}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type ?? 'frame'} within ${timeoutMs} ms`);
      await this.arrival(left);
    }
  }

  /** Removes and returns the data of the first frame of `type` whose data matches `where`, waiting if needed. */
  async event<T = Record<string, unknown>>(
    type: string,
    where: (data: T) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.frames.findIndex((f) => f.type === type && where(f.data as T));
      if (at >= 0) return this.frames.splice(at, 1)[0].data as T;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} frame; got ${this.types().join(', ')}`);
      await this.arrival(left);
    }
  }

  /**
   * Sends a `ping` and waits for its `pong`. The server writes frames to a socket in order, so every event it
   * sent to this connection before reading the ping has arrived by then.
   */
  async ping(timeoutMs = 5000): Promise<void> {
    this.send({ type: 'ping' });
    await this.event('pong', () => true, timeoutMs);
  }

  /**
   * Waits up to `ms` for a frame to arrive and returns the types of all frames not yet taken; returns as soon
   * as there is one, so a test that expects `[]` fails fast and passes after `ms` at most.
   */
  async quiet(ms: number): Promise<string[]> {
    if (!this.frames.length) await this.arrival(ms);
    return this.types();
  }

  /** Takes every frame received so far, returning their types. */
  drain(): string[] {
    return this.frames.splice(0).map((f) => f.type);
  }

  /** Types of the frames received and not yet taken. */
  types(): string[] {
    return this.frames.map((f) => f.type);
  }

  /** Sends an object as JSON, or a string as is. */
  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Closes and waits for the close to complete. */
  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    await this.closed;
  }

  /** Resolves when a frame arrives or the socket closes, or after `ms`. */
  private arrival(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** The HTTP status with which an upgrade to `path` is refused (0 when it was accepted). */
export function upgradeStatus(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<number> {
  const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + path, { headers });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? -1);
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => {
      ws.terminate();
      resolve(0);
    });
    ws.once('error', reject);
  });
}

/** The status, headers and JSON body with which an upgrade to `path` is refused. */
export function refusedUpgrade(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: unknown }> {
  const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + path, { headers });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.once('end', () => {
        ws.terminate();
        try {
          resolve({ status: res.statusCode ?? -1, headers: res.headers, body: JSON.parse(text) });
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('error', reject);
  });
}

/** Polls `check` until it returns true or `timeoutMs` passes (used for eventually-true state such as presence). */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

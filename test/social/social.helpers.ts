import WebSocket from 'ws';
import { registerUser, type TestApp } from '../helpers/app';

export type User = Awaited<ReturnType<typeof registerUser>>;

/** `Authorization` header value of a user. */
export function bearer(u: { token: string }): string {
  return `Bearer ${u.token}`;
}

/** Registers `n` users. */
export async function users(app: TestApp, n: number): Promise<User[]> {
  const out: User[] = [];
  for (let i = 0; i < n; i++) out.push(await registerUser(app));
  return out;
}

/** Makes two users friends through the API (request + accept). */
export async function befriend(
  app: Pick<TestApp, 'http'>,
  a: Pick<User, 'id' | 'token'>,
  b: Pick<User, 'id' | 'token'>,
): Promise<void> {
  const req = await app.http
    .post('/api/v1/friend-requests')
    .set('Authorization', bearer(a))
    .send({ userId: b.id });
  if (req.status !== 201) throw new Error(`request failed: ${req.status} ${JSON.stringify(req.body)}`);
  const acc = await app.http
    .post(`/api/v1/friend-requests/${req.body.id}/accept`)
    .set('Authorization', bearer(b))
    .send({});
  if (acc.status !== 200) throw new Error(`accept failed: ${acc.status} ${JSON.stringify(acc.body)}`);
}

/** Creates a group owned by `owner` through the API. */
export async function createGroup(
  app: TestApp,
  owner: User,
  body: Record<string, unknown> = {},
): Promise<{ id: string } & Record<string, unknown>> {
  const res = await app.http
    .post('/api/v1/groups')
    .set('Authorization', bearer(owner))
    .send({ name: 'Team', ...body });
  if (res.status !== 201) throw new Error(`create group failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Joins an open group through the API. */
export async function joinOpen(app: TestApp, groupId: string, u: User): Promise<void> {
  const res = await app.http.post(`/api/v1/groups/${groupId}/join`).set('Authorization', bearer(u)).send({});
  if (res.status !== 200) throw new Error(`join failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/** A WebSocket client that keeps every frame and lets a test wait for one of a given type. */
export class WsClient {
  private readonly frames: Array<{ type: string; data: unknown }> = [];
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (raw) => {
      this.frames.push(JSON.parse(String(raw)));
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    });
  }

  /** Connects with the user's token and waits for `ready`. */
  static async open(app: TestApp, token: string): Promise<WsClient> {
    const url = `${app.instance.url.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(token)}`;
    const client = new WsClient(new WebSocket(url));
    await client.next('ready');
    return client;
  }

  /** The first frame of `type` (received or still to come) matching `where`; fails after `timeoutMs`. */
  async next<T = Record<string, unknown>>(
    type: string,
    where: (data: T) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f) => f.type === type && where(f.data as T));
      if (i >= 0) return this.frames.splice(i, 1)[0].data as T;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} frame; got ${this.frames.map((f) => f.type).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * Sends a `ping` and waits for its `pong`. The server writes frames to a socket in order, so every event it
   * sent to this connection before reading the ping has arrived by then.
   */
  async ping(timeoutMs = 5000): Promise<void> {
    this.socket.send(JSON.stringify({ type: 'ping' }));
    await this.next('pong', () => true, timeoutMs);
  }

  /**
   * Waits up to `ms` for a frame to arrive and returns the types of all frames not yet taken; returns as soon
   * as there is one, so a test that expects `[]` fails fast and passes after `ms` at most.
   */
  async quiet(ms: number): Promise<string[]> {
    if (!this.frames.length) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
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

  /** Closes the socket and waits until it is closed. */
  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

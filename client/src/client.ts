import { Backoff, type BackoffOptions } from './backoff';
import { Emitter } from './emitter';
import {
  createRestClient,
  JimApiError,
  unwrap,
  type Conversation,
  type Message,
  type RestClient,
} from './api';
import {
  PASS_THROUGH_EVENTS,
  type ConnectionState,
  type JimEvents,
  type OutgoingMessage,
  type ReadyEvent,
} from './events';
import { randomId } from './ids';
import { Outbox } from './outbox';
import { ConversationStreams } from './streams';

/** What the client needs of a WebSocket: the browser's, or the `ws` package's in Node. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  terminate?: () => void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface JimClientOptions {
  /** The server's base URL, e.g. `http://localhost:3000` (REST under /api/v1, the socket at /ws). */
  baseUrl: string;
  /** A session token (from login or register, or kept from an earlier run). */
  token?: string | null;
  /** WebSocket implementation; defaults to the global one (browsers, Node 22+). In Node 20 pass `ws`. */
  WebSocket?: WebSocketConstructor;
  /** fetch implementation; defaults to the global one. */
  fetch?: typeof fetch;
  /** Reconnect delays (exponential with full jitter; default 500 ms doubling up to 30 s). */
  backoff?: BackoffOptions;
  /** How long a send waits for its ack before it is sent again (default 10000 ms). */
  ackTimeoutMs?: number;
  /** Interval of the client's `ping` frames; a connection silent for two intervals is dropped (default 25000). */
  pingIntervalMs?: number;
  /** Messages per page when catching up (default 100, the server's maximum). */
  syncPageSize?: number;
}

/** Message content by type, as the API takes it. */
export type MessageContent = Record<string, unknown>;

const WS_OPEN = 1;

/**
 * A JIM session: typed REST calls (`api`), and a WebSocket that reconnects with backoff, catches up every
 * conversation it follows by `afterSeq` after each (re)connect and on `resync`, hands each message to the
 * application once and in seq order, and a send queue that retries with the same clientMsgId until acked.
 */
export class JimClient extends Emitter<JimEvents> {
  /** The typed REST client (openapi-fetch); wrap calls in `unwrap()` to get the data or a JimApiError. */
  readonly api: RestClient;
  private token: string | null;
  private socket: WebSocketLike | null = null;
  private connectionState: ConnectionState = 'idle';
  private readonly backoff: Backoff;
  private readonly sendBackoff: Backoff;
  private readonly streams: ConversationStreams;
  private readonly outbox: Outbox;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private lastFrameAt = 0;
  private wanted = false;
  private listLoaded = false;
  private syncing = false;
  private syncAgain = false;
  private convSyncs = new Map<string, Promise<void>>();
  private convAgain = new Set<string>();
  private user: ReadyEvent | null = null;
  private failedItems = new Map<string, OutgoingMessage>();

  constructor(private readonly options: JimClientOptions) {
    super();
    this.token = options.token ?? null;
    this.backoff = new Backoff(options.backoff);
    this.sendBackoff = new Backoff(options.backoff);
    this.api = createRestClient({
      baseUrl: options.baseUrl,
      token: () => this.token,
      onUnauthorized: () => this.unauthorized('rejected', 'the token was refused'),
      fetch: options.fetch,
    });
    this.streams = new ConversationStreams((message) => this.emit('message', message));
    this.outbox = new Outbox({
      transmit: (frameId, item) => this.transmit(frameId, item),
      notify: (item) => {
        if (item.state === 'failed') this.failedItems.set(item.clientMsgId, item);
        this.emit('outbox', { ...item });
      },
      ackTimeoutMs: options.ackTimeoutMs ?? 10_000,
      backoff: this.sendBackoff,
    });
  }

  /** The connection state. */
  get state(): ConnectionState {
    return this.connectionState;
  }

  /** The signed-in user's id once a connection was ready. */
  get userId(): string | null {
    return this.user?.userId ?? null;
  }

  /** The current token. */
  getToken(): string | null {
    return this.token;
  }

  /** Replaces the token (after a new login); call connect() to go on after `unauthorized`. */
  setToken(token: string | null): void {
    this.token = token;
  }

  /** Logs in and keeps the token. */
  async login(body: { username: string; password: string; captchaId?: string; captchaCode?: string }) {
    const session = await unwrap(this.api.POST('/api/v1/auth/login', { body }));
    this.token = session.token ?? null;
    return session;
  }

  /** Registers an account and keeps its token. */
  async register(body: {
    username: string;
    password: string;
    nickname?: string;
    captchaId?: string;
    captchaCode?: string;
  }) {
    const session = await unwrap(this.api.POST('/api/v1/auth/register', { body }));
    this.token = session.token ?? null;
    return session;
  }

  /** Ends the session on the server and locally. */
  async logout(): Promise<void> {
    if (this.token) await unwrap(this.api.POST('/api/v1/auth/logout')).catch(() => undefined);
    this.close();
    this.token = null;
  }

  /** Opens the WebSocket and keeps it open (reconnecting) until close() or an authentication failure. */
  connect(): void {
    if (!this.token) throw new JimApiError(401, 'UNAUTHENTICATED', 'no token: log in first');
    this.wanted = true;
    if (this.socket || this.reconnectTimer) return;
    this.open();
  }

  /** Closes the connection and stops reconnecting; queued messages stay queued for a later connect(). */
  close(): void {
    this.wanted = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.drop(1000, 'client closed');
    this.setState('idle');
  }

  /**
   * Queues a message; it goes out now or after the next reconnect and is retried with the same clientMsgId
   * until acknowledged. Follow it through `outbox` events (pending → sent or failed).
   */
  send(conversationId: string, type: Message['type'], content: MessageContent): OutgoingMessage {
    const item: OutgoingMessage = {
      clientMsgId: randomId(),
      conversationId,
      type,
      content,
      state: 'pending',
      message: null,
      error: null,
      attempts: 0,
    };
    this.outbox.add(item);
    this.emit('outbox', { ...item });
    return { ...item };
  }

  /** Sends a failed message again, with its original clientMsgId. */
  retry(clientMsgId: string): void {
    const item =
      this.outbox.pending().find((i) => i.clientMsgId === clientMsgId) ?? this.failedItems.get(clientMsgId);
    if (item) {
      this.failedItems.delete(clientMsgId);
      this.outbox.retry(item);
    }
  }

  /** Messages not yet acknowledged. */
  pendingMessages(): OutgoingMessage[] {
    return this.outbox.pending().map((item) => ({ ...item }));
  }

  /** Tells the conversation's other members that the user is typing (dropped when offline). */
  typing(conversationId: string): void {
    this.frame({ type: 'typing', data: { conversationId } });
  }

  /** Marks the conversation read up to `seq` (over the socket when open, else over REST). */
  async markRead(conversationId: string, seq: number): Promise<void> {
    if (this.frame({ type: 'read', data: { conversationId, seq } })) return;
    await unwrap(
      this.api.POST('/api/v1/conversations/{cid}/read', {
        params: { path: { cid: conversationId } },
        body: { seq },
      }),
    );
  }

  /** Every conversation of the chat list (all pages), pinned first then by last activity; follows them all. */
  async conversations(): Promise<Conversation[]> {
    const all: Conversation[] = [];
    let cursor: string | undefined;
    do {
      const page = await unwrap(
        this.api.GET('/api/v1/conversations', {
          params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } },
        }),
      );
      all.push(...(page.items ?? []));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    for (const c of all) this.follow(c.conversationId, c.lastSeq);
    this.listLoaded = true;
    return all;
  }

  /** A page of history: the latest `limit` messages, or those before `beforeSeq`, in seq order. */
  async history(
    conversationId: string,
    options: { beforeSeq?: number; limit?: number } = {},
  ): Promise<Message[]> {
    const page = await unwrap(
      this.api.GET('/api/v1/conversations/{cid}/messages', {
        params: {
          path: { cid: conversationId },
          query: {
            limit: options.limit ?? 20,
            ...(options.beforeSeq ? { beforeSeq: options.beforeSeq } : {}),
          },
        },
      }),
    );
    const items = page.items ?? [];
    const last = items[items.length - 1];
    if (!options.beforeSeq) this.follow(conversationId, last ? last.seq : 0);
    return items;
  }

  /** Follows a conversation from `seq` (what the application already shows); no-op when followed. */
  follow(conversationId: string, seq: number): void {
    this.streams.follow(conversationId, seq);
  }

  /** The highest seq handed to the application for a conversation, or null when not followed. */
  deliveredSeq(conversationId: string): number | null {
    return this.streams.delivered(conversationId);
  }

  /** Catches up every followed conversation now (the client does this itself on `ready` and `resync`). */
  resync(): Promise<void> {
    return this.resyncAll();
  }

  private setState(state: ConnectionState): void {
    if (state === this.connectionState) return;
    this.connectionState = state;
    this.emit('state', state);
  }

  private open(): void {
    const Ctor = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) throw new Error('no WebSocket implementation: pass one in options.WebSocket');
    const url = new URL('/ws', this.options.baseUrl.replace(/^http/, 'ws'));
    url.searchParams.set('token', this.token ?? '');
    this.setState('connecting');
    let socket: WebSocketLike;
    try {
      socket = new Ctor(url.toString());
    } catch {
      this.scheduleReconnect(false, 1006);
      return;
    }
    this.socket = socket;
    let ready = false;
    socket.onmessage = (event) => {
      this.lastFrameAt = Date.now();
      let frame: { type?: string; id?: string; data?: unknown };
      try {
        frame = JSON.parse(typeof event.data === 'string' ? event.data : String(event.data));
      } catch {
        return;
      }
      if (frame.type === 'ready') ready = true;
      this.onFrame(frame);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.detach();
      this.afterClose(ready, event.code, event.reason);
    };
    socket.onerror = () => undefined;
  }

  private onFrame(frame: { type?: string; id?: string; data?: unknown }): void {
    const data = (frame.data ?? {}) as Record<string, unknown>;
    switch (frame.type) {
      case 'ready':
        this.user = data as unknown as ReadyEvent;
        this.backoff.reset();
        this.setState('open');
        this.startHeartbeat();
        this.emit('ready', this.user);
        this.outbox.connected();
        void this.resyncAll();
        return;
      case 'resync':
        void this.resyncAll();
        return;
      case 'message':
        this.take(data as unknown as Message);
        return;
      case 'ack': {
        const message = data.message as Message | undefined;
        if (message) this.take(message);
        if (typeof data.id === 'string' && message) this.outbox.acked(data.id, message);
        return;
      }
      case 'error': {
        const id = typeof data.id === 'string' ? data.id : null;
        const code = String(data.code ?? 'INTERNAL');
        const text = String(data.message ?? '');
        if (id && this.outbox.failed(id, code, text)) return;
        this.emit('server.error', { id, code, message: text });
        return;
      }
      case 'pong':
        return;
      default:
        if (frame.type && (PASS_THROUGH_EVENTS as readonly string[]).includes(frame.type)) {
          if (frame.type === 'group.dissolved' && typeof data.groupId === 'string') {
            this.streams.forget(`g:${data.groupId}`);
          }
          this.emit(frame.type as (typeof PASS_THROUGH_EVENTS)[number], data as never);
        }
    }
  }

  /** A message from a push or an ack: new conversations are followed, gaps are filled by paging. */
  private take(message: Message): void {
    const cid = message.conversationId;
    if (this.streams.delivered(cid) === null) {
      // A conversation unknown before the chat list was read is live from here; one appearing later is new,
      // so all of it is news (except the world channel, whose past is history for everyone).
      const fromStart = this.listLoaded && !cid.startsWith('w:');
      this.streams.follow(cid, fromStart ? 0 : message.seq - 1);
    }
    if (this.streams.ingest(message)) void this.syncConversation(cid).catch(() => undefined);
  }

  private transmit(frameId: string, item: OutgoingMessage): boolean {
    return this.frame({
      type: 'send',
      id: frameId,
      data: {
        conversationId: item.conversationId,
        type: item.type,
        content: item.content,
        clientMsgId: item.clientMsgId,
      },
    });
  }

  private frame(frame: { type: string; id?: string; data?: unknown }): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== WS_OPEN || this.connectionState !== 'open') return false;
    try {
      socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  private startHeartbeat(): void {
    const interval = this.options.pingIntervalMs ?? 25_000;
    this.lastFrameAt = Date.now();
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastFrameAt > interval * 2) {
        this.drop(4000, 'heartbeat timeout');
        this.afterClose(true, 1006, 'heartbeat timeout');
        return;
      }
      this.frame({ type: 'ping' });
    }, interval);
  }

  /** Detaches and closes the current socket without reacting to its close. */
  private drop(code: number, reason: string): void {
    const socket = this.socket;
    this.detach();
    if (!socket) return;
    try {
      if (code !== 1000 && socket.terminate) socket.terminate();
      else socket.close(code, reason);
    } catch {
      // already closed
    }
  }

  private detach(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onmessage = null;
      socket.onclose = null;
      socket.onopen = null;
    }
    this.outbox.disconnected();
  }

  private afterClose(wasReady: boolean, code: number, reason: string): void {
    if (!this.wanted) {
      this.setState('idle');
      return;
    }
    if (code === 4001) {
      this.unauthorized(/expired/i.test(reason) ? 'expired' : 'revoked', reason || 'token revoked');
      return;
    }
    if (!wasReady) {
      // Browsers hide why an upgrade failed: ask REST whether the token still holds before retrying.
      this.setState('waiting');
      void unwrap(this.api.GET('/api/v1/users/me'))
        .then(() => this.scheduleReconnect(false, code))
        .catch((err: unknown) => {
          if (err instanceof JimApiError && err.status === 401) return; // onUnauthorized already ran
          this.scheduleReconnect(false, code);
        });
      return;
    }
    this.scheduleReconnect(true, code);
  }

  private scheduleReconnect(wasReady: boolean, code: number): void {
    if (!this.wanted || this.reconnectTimer || this.socket || this.connectionState === 'unauthorized') return;
    this.setState('waiting');
    const delay = wasReady && code === 1001 ? this.backoff.quick() : this.backoff.next();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.wanted && !this.socket) this.open();
    }, delay);
  }

  private unauthorized(reason: 'revoked' | 'expired' | 'rejected', message: string): void {
    if (this.connectionState === 'unauthorized') return;
    this.wanted = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.drop(1000, 'unauthorized');
    this.setState('unauthorized');
    this.emit('unauthorized', { reason, message });
  }

  /** Reads the chat list (new conversations) and pages every followed conversation after its delivered seq. */
  private async resyncAll(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    try {
      do {
        this.syncAgain = false;
        await this.discoverConversations();
        const ids = this.streams.conversationIds();
        await runLimited(ids, 4, (cid) => this.syncConversation(cid));
        this.emit('synced', { conversationIds: ids });
      } while (this.syncAgain && this.connectionState === 'open');
    } catch {
      // The connection dropped or the server failed: the next `ready` runs the pass again.
    } finally {
      this.syncing = false;
    }
  }

  private async discoverConversations(): Promise<void> {
    const first = !this.listLoaded;
    let cursor: string | undefined;
    do {
      const page = await unwrap(
        this.api.GET('/api/v1/conversations', {
          params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } },
        }),
      );
      for (const c of page.items ?? []) {
        const fromStart = !first && !c.conversationId.startsWith('w:');
        this.streams.follow(c.conversationId, fromStart ? 0 : c.lastSeq);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    this.listLoaded = true;
  }

  /** Pages one conversation with afterSeq until it is caught up; one pass at a time per conversation. */
  private syncConversation(cid: string): Promise<void> {
    const running = this.convSyncs.get(cid);
    if (running) {
      this.convAgain.add(cid);
      return running;
    }
    const run = (async () => {
      try {
        do {
          this.convAgain.delete(cid);
          await this.pageAfter(cid);
        } while (this.convAgain.has(cid) || this.streams.hasGap(cid));
      } finally {
        this.convSyncs.delete(cid);
      }
    })();
    this.convSyncs.set(cid, run);
    return run;
  }

  private async pageAfter(cid: string): Promise<void> {
    const limit = this.options.syncPageSize ?? 100;
    for (;;) {
      const after = this.streams.delivered(cid);
      if (after === null) return;
      let items: Message[];
      try {
        const page = await unwrap(
          this.api.GET('/api/v1/conversations/{cid}/messages', {
            params: { path: { cid }, query: { afterSeq: after, limit } },
          }),
        );
        items = page.items ?? [];
      } catch (err) {
        if (err instanceof JimApiError && (err.status === 403 || err.status === 404)) {
          this.streams.forget(cid); // no longer a member
          return;
        }
        throw err;
      }
      for (const message of items) this.streams.ingest(message, true);
      if (items.length < limit) return;
    }
  }
}

async function runLimited<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await task(items[next++]);
  });
  await Promise.all(workers);
}

import {
  JimClient,
  unwrap,
  type Conversation,
  type Message,
  type OutgoingMessage,
  type PresenceEvent,
  type PrivateUser,
  type User,
} from '@jim/client';
import { useEffect, useState } from 'preact/hooks';

const TOKEN_KEY = 'jim.token';
const TYPING_MS = 4000;

export type Tab = 'chats' | 'friends' | 'groups';

/** Everything the screens show, kept current from the SDK's events. */
export class Store {
  readonly client: JimClient;
  me: PrivateUser | null = null;
  tab: Tab = 'chats';
  conversations: Conversation[] = [];
  openId: string | null = null;
  messages = new Map<string, Message[]>();
  /** Whether older history exists before the first loaded message. */
  more = new Map<string, boolean>();
  outbox = new Map<string, OutgoingMessage>();
  typing = new Map<string, Map<string, number>>();
  presence = new Map<string, PresenceEvent>();
  /** The highest seq another member has read, per conversation. */
  peerRead = new Map<string, number>();
  users = new Map<string, User>();
  connection = 'idle';
  notice: string | null = null;
  private listeners = new Set<() => void>();
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;

  constructor() {
    this.client = new JimClient({ baseUrl: location.origin, token: localStorage.getItem(TOKEN_KEY) });
    const c = this.client;
    c.on('state', (s) => {
      this.connection = s;
      this.changed();
    });
    c.on('unauthorized', () => {
      localStorage.removeItem(TOKEN_KEY);
      this.me = null;
      this.notice = 'Your session ended. Please sign in again.';
      this.changed();
    });
    c.on('message', (m) => this.onMessage(m));
    c.on('outbox', (item) => {
      if (item.state === 'sent') this.outbox.delete(item.clientMsgId);
      else this.outbox.set(item.clientMsgId, item);
      this.changed();
    });
    c.on('message.recalled', (e) => {
      const list = this.messages.get(e.conversationId);
      const m = list?.find((x) => x.id === e.messageId);
      if (m) Object.assign(m, { status: 'recalled', content: {} });
      const conv = this.conversation(e.conversationId);
      if (conv?.lastMessage?.id === e.messageId)
        conv.lastMessage = { ...conv.lastMessage, status: 'recalled' };
      this.changed();
    });
    c.on('read', (e) => {
      if (e.userId === this.me?.id) {
        const conv = this.conversation(e.conversationId);
        if (conv && e.seq > conv.readSeq) Object.assign(conv, { readSeq: e.seq, unreadCount: 0 });
      } else this.peerRead.set(e.conversationId, Math.max(e.seq, this.peerRead.get(e.conversationId) ?? 0));
      this.changed();
    });
    c.on('typing', (e) => {
      if (e.userId === this.me?.id) return;
      const map = this.typing.get(e.conversationId) ?? new Map<string, number>();
      map.set(e.userId, Date.now() + TYPING_MS);
      this.typing.set(e.conversationId, map);
      this.changed();
      setTimeout(() => this.changed(), TYPING_MS + 50);
    });
    c.on('presence', (e) => {
      this.presence.set(e.userId, e);
      this.changed();
    });
    for (const type of ['friend.accepted', 'friend.removed', 'group.created', 'group.dissolved'] as const) {
      c.on(type, () => this.refreshSoon());
    }
    c.on('friend.request', () => {
      this.notice = 'New friend request';
      this.changed();
    });
    c.on('ready', () => this.refreshSoon());
  }

  /** Subscribes to changes; returns the remover. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(): void {
    for (const l of this.listeners) l();
  }

  conversation(cid: string): Conversation | undefined {
    return this.conversations.find((c) => c.conversationId === cid);
  }

  /** Resumes a stored session, if any. */
  async resume(): Promise<void> {
    if (!this.client.getToken()) return;
    try {
      await this.start();
    } catch {
      localStorage.removeItem(TOKEN_KEY);
      this.client.setToken(null);
      this.me = null;
      this.changed();
    }
  }

  /** After login or register: load the profile and the chat list, and connect. */
  async start(): Promise<void> {
    localStorage.setItem(TOKEN_KEY, this.client.getToken() ?? '');
    this.me = await unwrap(this.client.api.GET('/api/v1/users/me'));
    this.notice = null;
    await this.refresh();
    this.client.connect();
    this.changed();
  }

  async logout(): Promise<void> {
    await this.client.logout();
    localStorage.removeItem(TOKEN_KEY);
    this.me = null;
    this.conversations = [];
    this.messages.clear();
    this.openId = null;
    this.changed();
  }

  /** Reloads the chat list. */
  async refresh(): Promise<void> {
    const list = await this.client.conversations();
    // A conversation opened before its first message is not in the server's list yet: keep showing it.
    const opened = this.openId ? this.conversation(this.openId) : undefined;
    if (opened && !list.some((c) => c.conversationId === opened.conversationId)) list.push(opened);
    this.conversations = sortConversations(list);
    for (const c of this.conversations) if (c.peer) this.users.set(c.peer.id, c.peer);
    this.changed();
  }

  refreshSoon(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      void this.refresh().catch(() => undefined);
    }, 150);
  }

  private onMessage(m: Message): void {
    const list = this.messages.get(m.conversationId);
    if (list && !list.some((x) => x.seq === m.seq)) list.push(m);
    const conv = this.conversation(m.conversationId);
    if (!conv) {
      this.refreshSoon();
    } else {
      conv.lastMessage = m;
      conv.lastSeq = Math.max(conv.lastSeq, m.seq);
      const mine = m.senderId === this.me?.id;
      if (!mine && this.openId === m.conversationId && document.visibilityState === 'visible') {
        void this.markRead(m.conversationId);
      } else if (!mine) conv.unreadCount += 1;
      this.typing.get(m.conversationId)?.delete(m.senderId);
      this.conversations = sortConversations(this.conversations);
    }
    this.changed();
  }

  /** Opens a conversation: loads its latest page and marks it read. */
  async open(cid: string, group?: { name: string }): Promise<void> {
    if (!this.conversation(cid)) {
      const peerId = cid.startsWith('p:')
        ? cid.split(':').find((id, i) => i > 0 && id !== this.me?.id)
        : undefined;
      this.conversations = [
        ...this.conversations,
        {
          conversationId: cid,
          kind: cid.startsWith('p:') ? 'private' : cid.startsWith('g:') ? 'group' : 'world',
          peer: (peerId && this.users.get(peerId)) || null,
          group: (group ?? null) as Conversation['group'],
          lastMessage: null,
          lastSeq: 0,
          readSeq: 0,
          unreadCount: 0,
          pinned: false,
          muted: false,
        },
      ];
    }
    this.openId = cid;
    this.tab = 'chats';
    this.changed();
    if (!this.messages.has(cid)) {
      const page = await this.client.history(cid, { limit: 30 });
      this.messages.set(cid, page);
      this.more.set(cid, page.length === 30 && page[0]?.seq > 1);
    }
    await this.markRead(cid);
    this.changed();
  }

  /** Loads the page before the first loaded message; returns how many came. */
  async loadOlder(cid: string): Promise<number> {
    const list = this.messages.get(cid) ?? [];
    const first = list[0];
    if (!first || !this.more.get(cid)) return 0;
    const page = await this.client.history(cid, { beforeSeq: first.seq, limit: 30 });
    this.messages.set(cid, [...page, ...list]);
    this.more.set(cid, page.length === 30 && (page[0]?.seq ?? 1) > 1);
    this.changed();
    return page.length;
  }

  async markRead(cid: string): Promise<void> {
    const conv = this.conversation(cid);
    const list = this.messages.get(cid);
    const seq = Math.max(conv?.lastSeq ?? 0, list?.[list.length - 1]?.seq ?? 0);
    if (!seq || (conv && conv.readSeq >= seq)) return;
    if (conv) Object.assign(conv, { readSeq: seq, unreadCount: 0 });
    this.changed();
    await this.client.markRead(cid, seq).catch(() => undefined);
  }

  typingIn(cid: string): string[] {
    const now = Date.now();
    return [...(this.typing.get(cid) ?? new Map<string, number>()).entries()]
      .filter(([, until]) => until > now)
      .map(([id]) => id);
  }

  /** A display name for a user id. */
  name(id: string): string {
    if (id === this.me?.id) return 'You';
    const u = this.users.get(id);
    return u ? u.nickname || u.username : `User ${id}`;
  }

  /** Whether a user is online, from presence events or the last profile read. */
  online(user: User): boolean {
    return this.presence.get(user.id)?.online ?? user.online;
  }

  /** A conversation's title. */
  title(c: Conversation): string {
    if (c.kind === 'world') return 'World';
    if (c.peer) return c.peer.nickname || c.peer.username;
    const group = c.group as { name?: string } | null;
    return group?.name ?? c.conversationId;
  }

  setTab(tab: Tab): void {
    this.tab = tab;
    this.changed();
  }
}

/** Pinned first, then by last activity. */
export function sortConversations(list: Conversation[]): Conversation[] {
  const at = (c: Conversation) => c.lastMessage?.createdAt ?? '';
  return [...list].sort((a, b) => Number(b.pinned) - Number(a.pinned) || at(b).localeCompare(at(a)));
}

/** Re-renders the component on every store change. */
export function useStore(store: Store): Store {
  const [, setVersion] = useState(0);
  useEffect(() => store.subscribe(() => setVersion((v) => v + 1)), [store]);
  return store;
}

/** A short text of a message for the chat list. */
export function preview(m: Message | null): string {
  if (!m) return 'No messages yet';
  if (m.status === 'recalled') return 'Message recalled';
  const content = m.content as Record<string, unknown>;
  if (m.type === 'text') return String(content.text ?? '');
  if (m.type === 'emoji') return String(content.code ?? 'Sticker');
  return `[${m.type}]`;
}

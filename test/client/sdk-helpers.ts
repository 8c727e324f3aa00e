import WebSocket from 'ws';
import {
  JimClient,
  unwrap,
  type JimClientOptions,
  type Message,
  type OutgoingMessage,
} from '../../client/src';
import type { WebSocketConstructor } from '../../client/src/client';
import { privateConversationId } from '../helpers/ids';

/** An SDK client for Node 20 (the `ws` package as WebSocket), with short reconnect delays for tests. */
export function sdkClient(baseUrl: string, options: Partial<JimClientOptions> = {}): JimClient {
  return new JimClient({
    baseUrl,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    backoff: { initialMs: 50, maxMs: 400 },
    ackTimeoutMs: 3000,
    ...options,
  });
}

/** What one client handed to the application: messages per conversation, in arrival order, and outbox states. */
export class Recorder {
  readonly messages = new Map<string, Message[]>();
  readonly outbox = new Map<string, OutgoingMessage>();
  readonly states: string[] = [];

  constructor(readonly client: JimClient) {
    client.on('message', (m) => {
      const list = this.messages.get(m.conversationId) ?? [];
      list.push(m);
      this.messages.set(m.conversationId, list);
    });
    client.on('outbox', (item) => this.outbox.set(item.clientMsgId, item));
    client.on('state', (s) => this.states.push(s));
  }

  /** Messages handed on in a conversation. */
  in(conversationId: string): Message[] {
    return this.messages.get(conversationId) ?? [];
  }

  /** Texts of the messages handed on in a conversation, in order. */
  texts(conversationId: string): string[] {
    return this.in(conversationId).map((m) => String((m.content as { text?: string }).text));
  }
}

/** Waits until the check holds (polling), or fails with the description. */
export async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits for the client's next `ready`. */
export function nextReady(client: JimClient): Promise<void> {
  return new Promise((resolve) => {
    const off = client.on('ready', () => {
      off();
      resolve();
    });
  });
}

/** Makes two users friends through the SDK (request, then accept) and returns their private conversation id. */
export async function befriend(a: JimClient, aId: string, b: JimClient, bId: string): Promise<string> {
  const request = await unwrap(a.api.POST('/api/v1/friend-requests', { body: { userId: bId } }));
  await unwrap(
    b.api.POST('/api/v1/friend-requests/{requestId}/accept', {
      params: { path: { requestId: 'id' in request ? String(request.id) : '' } },
      body: {},
    }),
  );
  return privateConversationId(aId, bId);
}

/** Checks that a conversation's messages are handed on once each, in strictly consecutive seq order. */
export function expectConsecutive(messages: Message[]): void {
  const seqs = messages.map((m) => m.seq);
  const first = seqs[0] ?? 1;
  expect(seqs).toEqual(seqs.map((_, i) => first + i));
}

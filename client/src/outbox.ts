import type { Message } from './api';
import type { OutgoingMessage } from './events';
import { Backoff } from './backoff';

/** Server codes after which the same send may succeed later; any other code fails the message. */
const RETRYABLE = new Set(['INTERNAL', 'RATE_LIMITED', 'UNAVAILABLE', 'FEDERATION_UNAVAILABLE', 'TIMEOUT']);

export interface OutboxOptions {
  /** Puts one attempt on the wire as a `send` frame; false when no ready connection exists. */
  transmit: (frameId: string, item: OutgoingMessage) => boolean;
  /** Reports a state change of an item. */
  notify: (item: OutgoingMessage) => void;
  /** How long to wait for the ack of an attempt before trying again (default 10000 ms). */
  ackTimeoutMs: number;
  backoff: Backoff;
}

interface Flight {
  item: OutgoingMessage;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The send queue. Each message keeps the clientMsgId it got when queued and is sent again with it (after a
 * timeout, a retryable error or a reconnect) until an ack arrives, so the server stores it once. Messages of
 * one conversation go out one at a time, in the order they were queued.
 */
export class Outbox {
  private queues = new Map<string, OutgoingMessage[]>();
  private flights = new Map<string, Flight>();
  private busy = new Set<string>();
  private waiting = new Map<string, ReturnType<typeof setTimeout>>();
  private online = false;
  private frameSeq = 0;

  constructor(private readonly options: OutboxOptions) {}

  /** Queues a message and tries to send it. */
  add(item: OutgoingMessage): void {
    const queue = this.queues.get(item.conversationId) ?? [];
    queue.push(item);
    this.queues.set(item.conversationId, queue);
    this.pump();
  }

  /** Every message not yet acknowledged, oldest first per conversation. */
  pending(): OutgoingMessage[] {
    return [...this.queues.values()].flat();
  }

  /** Puts a failed message back in the queue with the same clientMsgId. */
  retry(item: OutgoingMessage): void {
    if (item.state !== 'failed') return;
    item.state = 'pending';
    item.error = null;
    this.options.notify(item);
    this.add(item);
  }

  /** A connection became ready: send what waits. */
  connected(): void {
    this.online = true;
    this.pump();
  }

  /** The connection is gone: attempts in flight will be made again on the next connection. */
  disconnected(): void {
    this.online = false;
    for (const flight of this.flights.values()) clearTimeout(flight.timer);
    this.flights.clear();
    for (const timer of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    this.busy.clear();
  }

  /**
   * An `ack` frame; returns true when it answered one of our messages. A late ack (its attempt timed out and
   * another is under way) still settles the message, found by its clientMsgId.
   */
  acked(frameId: string, message: Message): boolean {
    const flight = this.take(frameId);
    const item =
      flight?.item ??
      this.queues.get(message.conversationId)?.find((queued) => queued.clientMsgId === message.clientMsgId);
    if (!item) return false;
    if (!flight) {
      for (const [id, other] of this.flights) if (other.item === item) this.take(id);
      const timer = this.waiting.get(item.conversationId);
      if (timer) clearTimeout(timer);
      this.waiting.delete(item.conversationId);
      this.busy.delete(item.conversationId);
    }
    item.state = 'sent';
    item.message = message;
    this.options.backoff.reset();
    this.remove(item);
    this.options.notify(item);
    this.pump();
    return true;
  }

  /** An `error` frame; returns true when it answered one of our attempts. */
  failed(frameId: string, code: string, message: string): boolean {
    const flight = this.take(frameId);
    if (!flight) return false;
    const { item } = flight;
    if (RETRYABLE.has(code)) {
      this.later(item.conversationId);
      return true;
    }
    item.state = 'failed';
    item.error = { code, message };
    this.remove(item);
    this.options.notify(item);
    this.pump();
    return true;
  }

  private take(frameId: string): Flight | undefined {
    const flight = this.flights.get(frameId);
    if (!flight) return undefined;
    clearTimeout(flight.timer);
    this.flights.delete(frameId);
    this.busy.delete(flight.item.conversationId);
    return flight;
  }

  private remove(item: OutgoingMessage): void {
    const queue = this.queues.get(item.conversationId);
    if (!queue) return;
    const at = queue.indexOf(item);
    if (at >= 0) queue.splice(at, 1);
    if (queue.length === 0) this.queues.delete(item.conversationId);
  }

  /** Holds a conversation back for a backoff delay, then tries its head again. */
  private later(conversationId: string): void {
    this.busy.add(conversationId);
    const timer = setTimeout(() => {
      this.waiting.delete(conversationId);
      this.busy.delete(conversationId);
      this.pump();
    }, this.options.backoff.next());
    this.waiting.set(conversationId, timer);
  }

  private pump(): void {
    if (!this.online) return;
    for (const [conversationId, queue] of this.queues) {
      if (this.busy.has(conversationId) || queue.length === 0) continue;
      const item = queue[0];
      const frameId = `m${++this.frameSeq}`;
      this.busy.add(conversationId);
      if (!this.options.transmit(frameId, item)) {
        this.busy.delete(conversationId);
        return;
      }
      item.attempts += 1;
      const timer = setTimeout(() => {
        if (!this.take(frameId)) return;
        this.later(conversationId);
      }, this.options.ackTimeoutMs);
      this.flights.set(frameId, { item, timer });
    }
  }
}

import type { Message } from './api';

interface Stream {
  delivered: number;
  pending: Map<number, Message>;
}

/**
 * Per-conversation ordering and de-duplication: each message is handed on once, in seq order. Messages that
 * arrive ahead of a gap wait until the gap is filled (by a later push or by paging with afterSeq).
 */
export class ConversationStreams {
  private streams = new Map<string, Stream>();

  constructor(private readonly deliver: (message: Message) => void) {}

  /** Conversations being followed. */
  conversationIds(): string[] {
    return [...this.streams.keys()];
  }

  /** The highest seq handed on in the conversation, or null when it is not followed. */
  delivered(conversationId: string): number | null {
    return this.streams.get(conversationId)?.delivered ?? null;
  }

  /** Starts following a conversation from `seq` (messages up to it count as history); no-op when followed. */
  follow(conversationId: string, seq: number): void {
    if (!this.streams.has(conversationId))
      this.streams.set(conversationId, { delivered: seq, pending: new Map() });
  }

  /** Stops following a conversation (left, removed, dissolved). */
  forget(conversationId: string): void {
    this.streams.delete(conversationId);
  }

  /**
   * Takes a message from a push or an ack; returns true when a gap remains before the messages held back.
   * With `authoritative` (a page read with afterSeq), seqs the server skipped do not exist for this user
   * (hidden with delete-for-me), so the stream moves past them.
   */
  ingest(message: Message, authoritative = false): boolean {
    const stream = this.streams.get(message.conversationId);
    if (!stream) return false;
    if (message.seq <= stream.delivered) return stream.pending.size > 0;
    if (authoritative && message.seq > stream.delivered + 1) {
      const before = [...stream.pending.keys()].filter((seq) => seq < message.seq).sort((a, b) => a - b);
      for (const seq of before) {
        const held = stream.pending.get(seq) as Message;
        stream.pending.delete(seq);
        stream.delivered = seq;
        this.deliver(held);
      }
      stream.delivered = message.seq - 1;
    }
    if (message.seq !== stream.delivered + 1) {
      if (!stream.pending.has(message.seq)) stream.pending.set(message.seq, message);
      return true;
    }
    stream.delivered = message.seq;
    this.deliver(message);
    for (
      let next = stream.pending.get(stream.delivered + 1);
      next;
      next = stream.pending.get(stream.delivered + 1)
    ) {
      stream.pending.delete(next.seq);
      stream.delivered = next.seq;
      this.deliver(next);
    }
    return stream.pending.size > 0;
  }

  /** True when messages wait behind a gap. */
  hasGap(conversationId: string): boolean {
    return (this.streams.get(conversationId)?.pending.size ?? 0) > 0;
  }
}

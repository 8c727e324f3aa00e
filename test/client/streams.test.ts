import { Backoff } from '../../client/src/backoff';
import { ConversationStreams } from '../../client/src/streams';
import type { Message } from '../../client/src';

function msg(seq: number, conversationId = 'g:1'): Message {
  return {
    id: `id${seq}`,
    conversationId,
    seq,
    senderId: '1',
    type: 'text',
    content: { text: `t${seq}` },
    clientMsgId: `c${seq}`,
    createdAt: new Date(0).toISOString(),
    status: 'normal',
  } as unknown as Message;
}

describe('ConversationStreams', () => {
  it('hands messages on in seq order once each, holding back those after a gap', () => {
    const out: number[] = [];
    const streams = new ConversationStreams((m) => out.push(m.seq));
    streams.follow('g:1', 2);
    expect(streams.ingest(msg(2))).toBe(false);
    expect(streams.ingest(msg(4))).toBe(true);
    expect(streams.ingest(msg(5))).toBe(true);
    expect(out).toEqual([]);
    expect(streams.ingest(msg(3))).toBe(false);
    expect(streams.ingest(msg(4))).toBe(false);
    expect(out).toEqual([3, 4, 5]);
    expect(streams.delivered('g:1')).toBe(5);
  });

  it('moves past seqs an afterSeq page skipped (hidden for this user) and ignores unknown conversations', () => {
    const out: number[] = [];
    const streams = new ConversationStreams((m) => out.push(m.seq));
    streams.follow('g:1', 0);
    streams.ingest(msg(1));
    streams.ingest(msg(5));
    expect(streams.ingest(msg(3), true)).toBe(true);
    expect(out).toEqual([1, 3]);
    expect(streams.ingest(msg(4), true)).toBe(false);
    expect(out).toEqual([1, 3, 4, 5]);
    expect(streams.ingest(msg(1, 'g:2'))).toBe(false);
    expect(out).toEqual([1, 3, 4, 5]);
  });
});

describe('Backoff', () => {
  it('widens the jitter window exponentially up to the cap and starts over after reset', () => {
    const top = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5, 6].map(() => top.next())).toEqual([99, 199, 399, 799, 999, 999]);
    top.reset();
    expect(top.next()).toBe(99);
    const bottom = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    expect(bottom.next()).toBe(0);
  });
});

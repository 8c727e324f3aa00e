import { privateConversationId } from '../helpers/ids';
import { randomInt } from 'node:crypto';
import type { MessageStore, NewMessage, StoredMessage } from '../../src/modules/messages/messages.store';
import { describeWith, type Server } from '../helpers/servers';

/** A store under test and how to release it. */
export interface StoreHandle {
  store: MessageStore;
  /** Another store on the same data with its own connection, as a second server instance would have. */
  second: () => Promise<{ store: MessageStore; close: () => Promise<void> }>;
  close: () => Promise<void>;
}

let counter = 0;
function userId(): string {
  return String(randomInt(1, 2 ** 40) * 1000 + (++counter % 1000));
}

function text(
  conversationId: string,
  senderId: string,
  body: string,
  clientMsgId = `c-${++counter}-${body}`,
): NewMessage {
  return { conversationId, senderId, type: 'text', content: { text: body }, clientMsgId };
}

/** The behaviour every MessageStore implementation must show. */
/** The behaviour every MessageStore must show; `needs` names the servers the engine under test uses. */
export function messageStoreContract(
  name: string,
  open: () => Promise<StoreHandle>,
  needs: Server[] = [],
): void {
  describeWith(...needs)(`MessageStore contract: ${name}`, () => {
    let handle: StoreHandle;
    let store: MessageStore;
    beforeAll(async () => {
      handle = await open();
      store = handle.store;
    });
    afterAll(async () => {
      await handle?.close();
    });

    it('assigns seq 1, 2, 3 per conversation and returns plain objects', async () => {
      const a = userId();
      const b = userId();
      const cid = privateConversationId(a, b);
      const m1 = await store.append(text(cid, a, 'one'));
      const m2 = await store.append(text(cid, b, 'two'));
      const other = await store.append(text(`g:${userId()}`, a, 'elsewhere'));
      expect(m1.existing).toBe(false);
      expect(m1.message).toMatchObject({
        conversationId: cid,
        seq: 1,
        senderId: a,
        type: 'text',
        status: 'normal',
      });
      expect(m1.message.content).toEqual({ text: 'one' });
      expect(typeof m1.message.id).toBe('string');
      expect(m1.message.createdAt).toBeInstanceOf(Date);
      expect(m2.message.seq).toBe(2);
      expect(other.message.seq).toBe(1);
      expect(await store.lastSeq(cid)).toBe(2);
      expect(await store.findById(m2.message.id)).toEqual(m2.message);
      expect(await store.findById('0'.repeat(32))).toBeNull();
    });

    it('gives 200 concurrent appends to one conversation seq 1..200 exactly once each', async () => {
      const cid = `g:${userId()}`;
      const senders = [userId(), userId(), userId(), userId()];
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => store.append(text(cid, senders[i % 4], `m${i}`))),
      );
      const seqs = results.map((r) => r.message.seq).sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(new Set(results.map((r) => r.message.id)).size).toBe(200);
      expect(await store.lastSeq(cid)).toBe(200);
      const stored = await store.page(cid, { afterSeq: 0, limit: 100 });
      const rest = await store.page(cid, { afterSeq: 100, limit: 100 });
      expect([...stored, ...rest].map((m) => m.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    });

    it('keeps seq 1..200 gap-free when two instances append to one conversation at once', async () => {
      const other = await handle.second();
      try {
        const cid = `g:${userId()}`;
        const sender = userId();
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            (i % 2 ? store : other.store).append(text(cid, sender, `x${i}`)),
          ),
        );
        const seqs = results.map((r) => r.message.seq).sort((x, y) => x - y);
        expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
        const ids = results.map((r) => r.message.id);
        const retried = await Promise.all(
          results.map((r, i) =>
            (i % 2 ? other.store : store).append(text(cid, sender, 'again', r.message.clientMsgId)),
          ),
        );
        expect(retried.map((r) => r.message.id)).toEqual(ids);
        expect(retried.every((r) => r.existing)).toBe(true);
        expect(await other.store.lastSeq(cid)).toBe(200);
      } finally {
        await other.close();
      }
    });

    it('returns the original for a repeated (senderId, clientMsgId), flagged as existing', async () => {
      const a = userId();
      const cid = `g:${userId()}`;
      const first = await store.append(text(cid, a, 'hello', 'same-id'));
      const again = await store.append({ ...text(cid, a, 'different body', 'same-id') });
      expect(again.existing).toBe(true);
      expect(again.message).toEqual(first.message);
      expect(await store.findByClientMsgId(a, 'same-id')).toEqual(first.message);
      expect(await store.findByClientMsgId(a, 'other-id')).toBeNull();
      expect(await store.lastSeq(cid)).toBe(1);
      // The same clientMsgId from another sender is a different message.
      const other = await store.append(text(cid, userId(), 'x', 'same-id'));
      expect(other.existing).toBe(false);
      expect(other.message.seq).toBe(2);
    });

    it('refuses a clientMsgId the sender used in another conversation (CLIENT_MSG_ID_REUSED), storing nothing', async () => {
      const a = userId();
      const first = `g:${userId()}`;
      const second = `g:${userId()}`;
      const original = await store.append(text(first, a, 'one', 'reused-id'));
      await expect(store.append(text(second, a, 'two', 'reused-id'))).rejects.toMatchObject({
        code: 'CLIENT_MSG_ID_REUSED',
        status: 409,
      });
      expect(await store.lastSeq(second)).toBe(0);
      expect(await store.page(second, { limit: 10 })).toEqual([]);
      expect(await store.findByClientMsgId(a, 'reused-id')).toEqual(original.message);
      // The same conversation is still the idempotent retry.
      expect(await store.append(text(first, a, 'one', 'reused-id'))).toEqual({
        message: original.message,
        existing: true,
      });
    });

    it('refuses reused clientMsgIds among many concurrent appends (batched) and stores every other one', async () => {
      const a = userId();
      const first = `g:${userId()}`;
      const second = `g:${userId()}`;
      const earlier: StoredMessage[] = [];
      for (let i = 0; i < 10; i++) earlier.push((await store.append(text(first, a, `e${i}`))).message);
      const results = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) =>
          i % 2
            ? store.append(text(second, a, `fresh${i}`))
            : store.append(text(second, a, 'reuse', earlier[i % 10].clientMsgId)),
        ),
      );
      results.forEach((r, i) => {
        if (i % 2) expect(r).toMatchObject({ status: 'fulfilled', value: { existing: false } });
        else expect(r).toMatchObject({ status: 'rejected', reason: { code: 'CLIENT_MSG_ID_REUSED' } });
      });
      expect(await store.lastSeq(second)).toBe(20);
      expect(await store.lastSeq(first)).toBe(10);
    });

    it('lets exactly one of concurrent appends with one clientMsgId into two conversations store it', async () => {
      const a = userId();
      const cids = [`g:${userId()}`, `g:${userId()}`];
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => store.append(text(cids[i % 2], a, 'race', 'race-two-convs'))),
      );
      const stored = await store.findByClientMsgId(a, 'race-two-convs');
      expect(stored).not.toBeNull();
      results.forEach((r, i) => {
        if (cids[i % 2] === stored!.conversationId) {
          expect(r).toMatchObject({ status: 'fulfilled', value: { message: { id: stored!.id } } });
        } else {
          expect(r).toMatchObject({ status: 'rejected', reason: { code: 'CLIENT_MSG_ID_REUSED' } });
        }
      });
      expect((await store.lastSeq(cids[0])) + (await store.lastSeq(cids[1]))).toBe(1);
    });

    it('never stores two messages for one clientMsgId sent concurrently, and leaves no seq gap', async () => {
      const a = userId();
      const cid = `g:${userId()}`;
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.append(text(cid, a, 'dup', 'race-1'))),
      );
      expect(new Set(results.map((r) => r.message.id)).size).toBe(1);
      expect(results.filter((r) => !r.existing)).toHaveLength(1);
      const next = await store.append(text(cid, a, 'after'));
      expect(next.message.seq).toBe(2);
      expect((await store.page(cid, { limit: 10 })).map((m) => m.seq)).toEqual([1, 2]);
    });

    it('pages with beforeSeq, afterSeq and latest, always ascending', async () => {
      const a = userId();
      const cid = `g:${userId()}`;
      for (let i = 1; i <= 7; i++) await store.append(text(cid, a, `m${i}`));
      expect((await store.page(cid, { limit: 3 })).map((m) => m.seq)).toEqual([5, 6, 7]);
      expect((await store.page(cid, { beforeSeq: 5, limit: 3 })).map((m) => m.seq)).toEqual([2, 3, 4]);
      expect((await store.page(cid, { beforeSeq: 3, limit: 3 })).map((m) => m.seq)).toEqual([1, 2]);
      expect((await store.page(cid, { afterSeq: 2, limit: 3 })).map((m) => m.seq)).toEqual([3, 4, 5]);
      expect((await store.page(cid, { afterSeq: 7, limit: 3 })).map((m) => m.seq)).toEqual([]);
      expect(await store.page('g:unknown', { limit: 3 })).toEqual([]);
    });

    it('recall keeps the seq, sets status recalled and removes the content', async () => {
      const a = userId();
      const cid = `g:${userId()}`;
      const { message } = await store.append(text(cid, a, 'secret'));
      const recalled = await store.recall(message.id);
      expect(recalled).toMatchObject({ id: message.id, seq: 1, status: 'recalled', content: null });
      expect(await store.findById(message.id)).toMatchObject({ status: 'recalled', content: null });
      expect((await store.page(cid, { limit: 5 }))[0]).toMatchObject({ status: 'recalled', content: null });
      const [summary] = (await store.summaries(a, [cid])).filter((s) => s.conversationId === cid);
      expect(summary.lastMessage).toMatchObject({ status: 'recalled', content: null });
      expect(await store.recall('f'.repeat(32))).toBeNull();
    });

    it('hides a message for one user only', async () => {
      const a = userId();
      const b = userId();
      const cid = privateConversationId(a, b);
      await store.append(text(cid, a, 'keep'));
      const { message } = await store.append(text(cid, a, 'hide me'));
      await store.append(text(cid, b, 'also keep'));
      await store.hideForUser(b, message);
      await store.hideForUser(b, message);
      expect((await store.page(cid, { limit: 10, viewerId: b })).map((m) => m.seq)).toEqual([1, 3]);
      expect((await store.page(cid, { limit: 10, viewerId: a })).map((m) => m.seq)).toEqual([1, 2, 3]);
      expect((await store.page(cid, { limit: 2, viewerId: b })).map((m) => m.seq)).toEqual([1, 3]);
    });

    it('moves readSeq forward only', async () => {
      const a = userId();
      const cid = `g:${userId()}`;
      expect((await store.getState(a, cid)).readSeq).toBe(0);
      expect(await store.markRead(a, cid, 5)).toEqual({ readSeq: 5, moved: true });
      expect(await store.markRead(a, cid, 3)).toEqual({ readSeq: 5, moved: false });
      expect(await store.markRead(a, cid, 5)).toEqual({ readSeq: 5, moved: false });
      expect(await store.markRead(a, cid, 8)).toEqual({ readSeq: 8, moved: true });
      expect((await store.getState(a, cid)).readSeq).toBe(8);
    });

    it('keeps pinned, muted and silenced per user, and finds who muted among many', async () => {
      const a = userId();
      const b = userId();
      const c = userId();
      const cid = `g:${userId()}`;
      await store.setFlag(a, cid, 'pinned', true);
      await store.setFlag(b, cid, 'muted', true);
      await store.setFlag(c, cid, 'muted', true);
      await store.setFlag(c, cid, 'muted', false);
      await store.setFlag(c, cid, 'silenced', true);
      expect(await store.getState(a, cid)).toMatchObject({ pinned: true, muted: false, silenced: false });
      expect(await store.getState(b, cid)).toMatchObject({ pinned: false, muted: true });
      expect(await store.getState(c, cid)).toMatchObject({ muted: false, silenced: true });
      expect([...(await store.mutedAmong(cid, [a, b, c]))]).toEqual([b]);
      expect(await store.mutedAmong(cid, [])).toEqual(new Set());
      expect([...(await store.mutedOf(cid, [a, b, c, userId()]))]).toEqual([b]);
      expect([...(await store.mutedOf(cid, [a, c]))]).toEqual([]);
      expect(await store.mutedOf(cid, [])).toEqual(new Set());
    });

    it('summarises the chat list with unread counts that exclude own messages', async () => {
      const a = userId();
      const b = userId();
      const cid = privateConversationId(a, b);
      const participants = [a, b];
      await store.append({ ...text(cid, a, 'a1'), participants });
      await store.append({ ...text(cid, a, 'a2'), participants });
      await store.append({ ...text(cid, b, 'b1'), participants });
      await store.append({ ...text(cid, a, 'a3'), participants });
      const [forB] = await store.summaries(b, []);
      expect(forB).toMatchObject({
        conversationId: cid,
        lastSeq: 4,
        readSeq: 0,
        unreadCount: 3,
        pinned: false,
      });
      expect(forB.lastMessage).toMatchObject({ seq: 4, content: { text: 'a3' } });
      const [forA] = await store.summaries(a, []);
      expect(forA.unreadCount).toBe(1);
      await store.markRead(b, cid, 2);
      expect((await store.summaries(b, []))[0].unreadCount).toBe(1);
      await store.markRead(a, cid, 4);
      expect((await store.summaries(a, []))[0].unreadCount).toBe(0);
    });

    it('summarises the chat list with what the viewer still sees after delete-for-me', async () => {
      const a = userId();
      const b = userId();
      const cid = privateConversationId(a, b);
      const participants = [a, b];
      const sent: StoredMessage[] = [];
      for (const [sender, body] of [
        [a, 'a1'],
        [b, 'b1'],
        [a, 'a2'],
        [b, 'b2'],
        [b, 'b3'],
      ] as const) {
        sent.push((await store.append({ ...text(cid, sender, body), participants })).message);
      }
      const forA = async () => (await store.summaries(a, [])).find((s) => s.conversationId === cid)!;
      expect(await forA()).toMatchObject({ lastSeq: 5, unreadCount: 3, lastMessage: { seq: 5 } });
      // Hiding the last message shows the one before it, and it no longer counts as unread.
      await store.hideForUser(a, sent[4]);
      expect(await forA()).toMatchObject({ lastSeq: 5, unreadCount: 2, lastMessage: { seq: 4 } });
      // Own messages never counted; hiding one changes only what is last.
      await store.hideForUser(a, sent[2]);
      await store.hideForUser(a, sent[3]);
      expect(await forA()).toMatchObject({
        unreadCount: 1,
        lastMessage: { seq: 2, content: { text: 'b1' } },
      });
      // Hides before the read marker change nothing unread.
      await store.markRead(a, cid, 2);
      expect(await forA()).toMatchObject({ readSeq: 2, unreadCount: 0, lastMessage: { seq: 2 } });
      // The other side sees everything.
      const [forB] = await store.summaries(b, []);
      expect(forB).toMatchObject({ unreadCount: 2, lastMessage: { seq: 5, content: { text: 'b3' } } });
      // With nothing left to see, the line stays (the conversation goes on) without a last message.
      await store.hideForUser(a, sent[0]);
      await store.hideForUser(a, sent[1]);
      expect(await forA()).toMatchObject({ lastSeq: 5, unreadCount: 0, lastMessage: null });
      // Cleared history is not shown either: a hidden message after it leaves nothing to show.
      const later = (await store.append({ ...text(cid, b, 'b4'), participants })).message;
      expect(await forA()).toMatchObject({ lastSeq: 6, unreadCount: 1, lastMessage: { seq: 6 } });
      await store.clearHistory(a, cid);
      const after = (await store.append({ ...text(cid, b, 'b5'), participants })).message;
      await store.hideForUser(a, after);
      expect(later.seq).toBe(6);
      expect(await forA()).toMatchObject({ lastSeq: 7, readSeq: 6, unreadCount: 0, lastMessage: null });
    });

    it('orders the chat list pinned first, then by last activity, and includes extra conversations', async () => {
      const me = userId();
      const p1 = privateConversationId(me, userId());
      const g1 = `g:${userId()}`;
      const g2 = `g:${userId()}`;
      await store.append({ ...text(p1, me, 'old'), participants: [me] });
      await new Promise((r) => setTimeout(r, 5));
      await store.append(text(g1, userId(), 'group'));
      await new Promise((r) => setTimeout(r, 5));
      await store.append(text(g2, userId(), 'newest'));
      await store.setFlag(me, p1, 'pinned', true);
      const list = await store.summaries(me, [g1, g2, 'g:empty']);
      expect(list.map((s) => s.conversationId)).toEqual([p1, g2, g1]);
      expect(list[0].pinned).toBe(true);
      expect(list[1]).toMatchObject({ unreadCount: 1, readSeq: 0, muted: false });
    });

    it('pages the chat list after a position, keeping only what `keep` accepts', async () => {
      const me = userId();
      const cids = Array.from({ length: 5 }, () => `g:${userId()}`);
      for (const cid of cids) {
        await store.append({ ...text(cid, me, 'x'), participants: [me] });
        await new Promise((r) => setTimeout(r, 3));
      }
      await store.setFlag(me, cids[1], 'pinned', true);
      const dropped = cids[3];
      const keep = (cid: string) => cid !== dropped;
      const all = await store.summaries(me, [], { keep });
      expect(all.map((s) => s.conversationId)).toEqual([cids[1], cids[4], cids[2], cids[0]]);
      const first = await store.summaries(me, [], { keep, limit: 2 });
      expect(first.map((s) => s.conversationId)).toEqual([cids[1], cids[4]]);
      const rest = await store.summaries(me, [], { keep, after: first[1], limit: 5 });
      expect(rest.map((s) => s.conversationId)).toEqual([cids[2], cids[0]]);
      expect(rest[0]).toMatchObject({ lastSeq: 1, unreadCount: 0, lastMessage: { content: { text: 'x' } } });
      expect(await store.summaries(me, [], { keep, after: rest[1] })).toEqual([]);
    });

    it('joins a user to a conversation once, keeping the state they already have', async () => {
      const a = userId();
      const cid = `g:${userId()}`;
      await store.join(a, cid);
      await store.setFlag(a, cid, 'muted', true);
      await store.join(a, cid);
      expect(await store.getState(a, cid)).toMatchObject({ muted: true, readSeq: 0 });
    });

    it('clears history up to now for one user only (delete with history)', async () => {
      const a = userId();
      const b = userId();
      const cid = privateConversationId(a, b);
      const participants = [a, b];
      await store.append({ ...text(cid, a, 'one'), participants });
      await store.append({ ...text(cid, b, 'two'), participants });
      await store.clearHistory(a, cid);
      expect(await store.page(cid, { limit: 10, viewerId: a })).toEqual([]);
      expect((await store.page(cid, { limit: 10, viewerId: b })).map((m) => m.seq)).toEqual([1, 2]);
      expect((await store.summaries(a, [])).map((s) => s.conversationId)).not.toContain(cid);
      await store.append({ ...text(cid, b, 'three'), participants });
      const [back] = (await store.summaries(a, [])).filter((s) => s.conversationId === cid);
      expect(back).toMatchObject({ lastSeq: 3, unreadCount: 1 });
      expect((await store.page(cid, { limit: 10, viewerId: a })).map((m) => m.seq)).toEqual([3]);
    });
  });
}

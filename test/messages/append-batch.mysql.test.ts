import path from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { createMysqlPool, migrate, type Pool } from '../../src/infra/mysql';
import { AppendBatcher } from '../../src/modules/messages/messages.append-batch.mysql';
import type { NewMessage } from '../../src/modules/messages/messages.store';
import { MysqlMessageStore } from '../../src/modules/messages/messages.store.mysql';
import { createLogger } from '../../src/shared/logger';
import { dropDatabase, isolation } from '../helpers/app';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql');

needsServers('MySQL append batching (group commit) and coalesced mute lookups', () => {
  let pool: Pool;
  let mysqlUrl: string;

  beforeAll(async () => {
    mysqlUrl = isolation().mysqlUrl;
    pool = await createMysqlPool(mysqlUrl, 20);
    await migrate(pool, path.resolve(__dirname, '../../sql'), createLogger({ level: 'silent' }));
  });

  afterAll(async () => {
    await pool.end();
    await dropDatabase(mysqlUrl);
  });

  const msg = (conversationId: string, senderId: string, clientMsgId: string): NewMessage => ({
    conversationId,
    senderId,
    type: 'text',
    content: { text: clientMsgId },
    clientMsgId,
  });

  async function seqsOf(conversationId: string): Promise<number[]> {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT seq FROM messages WHERE conversation_id = ? ORDER BY seq',
      [conversationId],
    );
    return rows.map((r) => Number(r.seq));
  }

  it('stores concurrent appends to several conversations in shared transactions, seqs 1..n without gaps', async () => {
    const store = new MysqlMessageStore(pool, { maxBatch: 50, maxParallel: 1 });
    const spy = jest.spyOn(pool, 'getConnection');
    const convs = ['p:101:102', 'p:101:103', 'g:900'];
    const results = await Promise.all(
      Array.from({ length: 150 }, (_, i) => store.append(msg(convs[i % 3], '101', `batch-${i}`))),
    );
    const transactions = spy.mock.calls.length;
    spy.mockRestore();
    expect(results.every((r) => !r.existing)).toBe(true);
    expect(transactions).toBeLessThan(20);
    for (const c of convs) {
      const mine = results.filter((r) => r.message.conversationId === c).map((r) => r.message.seq);
      expect(mine.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(await seqsOf(c)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    }
  });

  it('answers a clientMsgId repeated inside one batch with the one stored message', async () => {
    const store = new MysqlMessageStore(pool, { maxBatch: 50, maxParallel: 1 });
    const results = await Promise.all([
      store.append(msg('p:201:202', '201', 'first')),
      store.append(msg('p:201:202', '201', 'twice')),
      store.append(msg('p:201:202', '201', 'twice')),
      store.append(msg('p:201:202', '201', 'last')),
    ]);
    const twice = results.filter((r) => r.message.clientMsgId === 'twice');
    expect(twice.map((r) => r.existing).sort()).toEqual([false, true]);
    expect(twice[0].message.id).toBe(twice[1].message.id);
    expect(await seqsOf('p:201:202')).toEqual([1, 2, 3]);
  });

  it('rolls a failing batch back whole and stores its other messages one by one, still without gaps', async () => {
    const store = new MysqlMessageStore(pool);
    const original = await store.append(msg('p:301:302', '301', 'taken'));
    const single = jest.fn((input: NewMessage) =>
      (store as unknown as { appendOne(i: NewMessage): Promise<unknown> }).appendOne(input),
    );
    const lookup = () => Promise.resolve(new Map());
    // No idempotency lookup here, so the reused clientMsgId reaches the insert and fails the batch.
    const batcher = new AppendBatcher(pool, single as never, lookup, { maxBatch: 10, maxParallel: 1 });
    // The first flush takes the lone message; the next three form one batch, which the reused clientMsgId fails.
    const results = await Promise.all([
      batcher.append(msg('p:301:302', '301', 'a')),
      batcher.append(msg('p:301:302', '301', 'b')),
      batcher.append(msg('p:301:302', '301', 'taken')),
      batcher.append(msg('p:301:302', '301', 'c')),
    ]);
    expect(single).toHaveBeenCalled();
    const taken = results[2] as { existing: boolean; message: { id: string } };
    expect(taken.existing).toBe(true);
    expect(taken.message.id).toBe(original.message.id);
    expect(await seqsOf('p:301:302')).toEqual([1, 2, 3, 4]);
  });

  it('answers concurrent mute lookups of several conversations, each with its own muted users', async () => {
    const store = new MysqlMessageStore(pool);
    await store.setFlag('401', 'g:41', 'muted', true);
    await store.setFlag('402', 'g:41', 'muted', true);
    await store.setFlag('401', 'g:42', 'muted', true);
    await store.setFlag('403', 'g:42', 'muted', false);
    const everyone = ['401', '402', '403'];
    const results = await Promise.all([
      store.mutedAmong('g:41', everyone),
      store.mutedAmong('g:42', everyone),
      store.mutedAmong('g:43', everyone),
      store.mutedAmong('g:41', ['402', '403']),
    ]);
    expect(results.map((r) => [...r].sort())).toEqual([['401', '402'], ['401'], [], ['402']]);
    await store.setFlag('401', 'g:42', 'muted', false);
    expect([...(await store.mutedAmong('g:42', everyone))]).toEqual([]);
  });
});

import { retryOnDeadlock, withTransaction, type Pool, type PoolConnection } from './mysql';

/**
 * A READ COMMITTED transaction, run again when it loses a deadlock. The social stores serialise each change
 * with a row lock (the pair's user rows, the group row) and then must read what the previous holder of that
 * lock committed, which READ COMMITTED guarantees for every read; it also takes no gap locks on the
 * lookups that find nothing.
 */
export function readCommittedTransaction<T>(
  pool: Pool,
  work: (conn: PoolConnection) => Promise<T>,
): Promise<T> {
  return retryOnDeadlock(() => withTransaction(pool, work, { isolation: 'READ COMMITTED' }));
}

import type { Pool, PoolConnection } from '../../infra/mysql';

/** True for InnoDB's deadlock and lock-wait-timeout errors, after which the transaction may simply be run again. */
export function isRetryableLockError(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}

/** Runs a whole transaction again when InnoDB picked it as a deadlock victim (it was rolled back). */
export async function retryOnDeadlock<T>(work: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await work();
    } catch (err) {
      if (i >= attempts || !isRetryableLockError(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5 * i + Math.random() * 10));
    }
  }
}

/**
 * A READ COMMITTED transaction, run again when it loses a deadlock. The social stores serialise each change
 * with a row lock (the pair's user rows, the group row) and then must read what the previous holder of that
 * lock committed, which READ COMMITTED guarantees for every read; it also takes no gap locks on the
 * lookups that find nothing.
 */
export function socialTransaction<T>(pool: Pool, work: (conn: PoolConnection) => Promise<T>): Promise<T> {
  return retryOnDeadlock(async () => {
    const conn = await pool.getConnection();
    try {
      await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await conn.beginTransaction();
      const result = await work(conn);
      await conn.commit();
      return result;
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  });
}

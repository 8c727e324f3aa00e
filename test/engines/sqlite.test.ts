import { closeSqlite, createSqlite } from '../../src/infra/sqlite';
import { createLogger } from '../../src/shared/logger';
import { SqliteShortLivedStore } from '../../src/infra/sqlite.short-lived';
import { tempSqlite } from '../stores/sqlite-db';
import { ManualClock } from './engine-handle';
import { shortLivedContract } from './short-lived.contract';

shortLivedContract('sqlite', async () => {
  const clock = new ManualClock();
  const sqlite = tempSqlite();
  const engine = new SqliteShortLivedStore(sqlite.db, { now: clock.now, sweepIntervalMs: 0 });
  return {
    engine,
    elapse: (ms) => clock.elapse(ms),
    close: async () => {
      engine.close();
      await sqlite.close();
    },
  };
});

describe('SqliteShortLivedStore', () => {
  it('keeps live keys across a reopen of the database and sweeps out only expired ones', async () => {
    const clock = new ManualClock();
    const sqlite = tempSqlite();
    const store = new SqliteShortLivedStore(sqlite.db, { now: clock.now, sweepIntervalMs: 0 });
    await store.set('revoked:a', '1', 60);
    await store.set('captcha:b', 'x', 1);
    expect(await store.increment('fails', 60)).toBe(1);
    expect(await store.increment('fails', 60)).toBe(2);
    await clock.elapse(1500);
    expect(store.sweep()).toBe(1);
    expect(await store.mget(['revoked:a', 'captcha:b', 'fails'])).toEqual(['1', null, '2']);
    store.close();
    closeSqlite(sqlite.db);
    const reopened = createSqlite(sqlite.dir, createLogger({ level: 'silent' }));
    const again = new SqliteShortLivedStore(reopened, { now: clock.now, sweepIntervalMs: 0 });
    expect(await again.mget(['revoked:a', 'captcha:b', 'fails'])).toEqual(['1', null, '2']);
    again.close();
    closeSqlite(reopened);
    await sqlite.close();
  });
});

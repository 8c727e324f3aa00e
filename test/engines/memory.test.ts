import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { MemoryGenerationCache } from '../../src/infra/memory/generation-cache.memory';
import { memoryLimiters } from '../../src/infra/memory/rate-limit.memory';
import { MemoryShortLivedStore } from '../../src/infra/memory/short-lived.memory';
import { ManualClock } from './engine-handle';
import { generationCacheContract } from './generation-cache.contract';
import { rateLimitContract } from './rate-limit.contract';
import { shortLivedContract } from './short-lived.contract';

shortLivedContract('memory', async () => {
  const clock = new ManualClock();
  const engine = new MemoryShortLivedStore({ now: clock.now });
  return { engine, elapse: (ms) => clock.elapse(ms), close: async () => engine.close() };
});

rateLimitContract('memory', async () => ({ limiters: memoryLimiters(), close: async () => {} }));

generationCacheContract('memory', async () => {
  const clock = new ManualClock();
  const engine = new MemoryGenerationCache({ now: clock.now });
  return { engine, elapse: (ms) => clock.elapse(ms), close: async () => engine.close() };
});

describe('MemoryShortLivedStore', () => {
  it('sweeps out expired entries, and only those', async () => {
    const clock = new ManualClock();
    const store = new MemoryShortLivedStore({ now: clock.now, sweepIntervalMs: 0 });
    for (let i = 0; i < 100; i++) await store.set(`short:${i}`, 'v', 1);
    await store.set('long', 'v', 60);
    await store.increment('counter', 60);
    expect(store.size).toBe(102);
    await clock.elapse(1500);
    expect(store.sweep()).toBe(100);
    expect(store.size).toBe(2);
    expect(await store.mget(['long', 'counter', 'short:0'])).toEqual(['v', '1', null]);
  });
});

describe('MemoryGenerationCache', () => {
  const gen = 'g';

  it('keeps its weight under the bound, dropping the least recently used entries first', async () => {
    const cache = new MemoryGenerationCache({ maxWeight: 10, sweepIntervalMs: 0 });
    const g = await cache.generation(gen);
    for (let i = 0; i < 5; i++) await cache.fillString(`s:${i}`, 'v', 60, gen, g);
    // Reading s:0 makes it the most recently used; s:1 and s:2 are the oldest now.
    expect(await cache.get(['s:0'])).toEqual(['v']);
    await cache.fillFields(
      'h',
      new Map(Array.from({ length: 7 }, (_, i) => [`f${i}`, 'v'] as const)),
      60,
      gen,
      g,
    );
    expect(cache.stats.weight).toBeLessThanOrEqual(10);
    expect(await cache.get(['s:0', 's:1', 's:2', 's:3', 's:4'])).toEqual(['v', null, null, 'v', 'v']);
    expect(await cache.getFields('h', ['f0', 'f6'])).toEqual(['v', 'v']);
  });

  it('sweeps out expired entries and generations', async () => {
    const clock = new ManualClock();
    const cache = new MemoryGenerationCache({ now: clock.now, sweepIntervalMs: 0 });
    const g = await cache.generation(gen);
    for (let i = 0; i < 10; i++) await cache.fillString(`s:${i}`, 'v', 1, gen, g);
    await cache.fillString('long', 'v', 600, gen, g);
    await cache.bump('gone', 'nothing', 1);
    await clock.elapse(1500);
    expect(cache.sweep()).toBe(10);
    expect(cache.stats).toEqual({ entries: 1, weight: 1, generations: 0 });
  });

  it('never keeps a stale fill whose generation was forgotten to stay within the bound', async () => {
    const cache = new MemoryGenerationCache({ maxGenerations: 2, sweepIntervalMs: 0 });
    const before = await cache.generation('g:k');
    await cache.bump('g:k', 'k', 600);
    for (let i = 0; i < 5; i++) await cache.bump(`g:other:${i}`, `other:${i}`, 600);
    expect(cache.stats.generations).toBe(2);
    expect(await cache.fillString('k', 'stale', 60, 'g:k', before)).toBe(false);
    expect(await cache.fillString('k', 'fresh', 60, 'g:k', await cache.generation('g:k'))).toBe(true);
  });

  it('never keeps a stale fill whose generation expired while it read', async () => {
    const clock = new ManualClock();
    const cache = new MemoryGenerationCache({ now: clock.now, sweepIntervalMs: 0 });
    const before = await cache.generation('g:k');
    await cache.bump('g:k', 'k', 1);
    await clock.elapse(1500);
    expect(await cache.fillString('k', 'stale', 60, 'g:k', before)).toBe(false);
  });
});

describe('in-process engines', () => {
  it('let the process exit while they hold entries (their sweep timers do not keep it alive)', () => {
    const root = path.resolve(__dirname, '../..');
    const script = `
      const { MemoryShortLivedStore } = require('./src/infra/memory/short-lived.memory');
      const { MemoryGenerationCache } = require('./src/infra/memory/generation-cache.memory');
      const store = new MemoryShortLivedStore({ sweepIntervalMs: 10 });
      const cache = new MemoryGenerationCache({ sweepIntervalMs: 10 });
      store.set('k', 'v', 3600).then(() => cache.bump('g', 'k', 3600)).then(() => console.log('held'));
    `;
    const run = spawnSync(process.execPath, ['-r', './scripts/ts-register.js', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect({ status: run.status, signal: run.signal, out: run.stdout.trim() }).toEqual({
      status: 0,
      signal: null,
      out: 'held',
    });
  });
});

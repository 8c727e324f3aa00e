import { Writable } from 'node:stream';
import { EventBus } from '../../src/shared/events';
import { createLogger } from '../../src/shared/logger';

type Events = {
  Happened: { n: number };
  Other: { s: string };
};

/** A logger whose lines are kept, to see what a failing handler logs. */
function memoryLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ level: 'info' }, stream), lines };
}

describe('EventBus', () => {
  it('runs the handlers of an event in registration order, each awaited before the next', async () => {
    const bus = new EventBus<Events>(memoryLogger().logger);
    const seen: string[] = [];
    bus.subscribe('Happened', async ({ n }) => {
      await new Promise((r) => setImmediate(r));
      seen.push(`first ${n}`);
    });
    bus.subscribe('Happened', ({ n }) => {
      seen.push(`second ${n}`);
    });
    bus.subscribe('Other', () => {
      seen.push('other');
    });
    await bus.publish('Happened', { n: 1 });
    expect(seen).toEqual(['first 1', 'second 1']);
  });

  it('resolves only once every handler has ended', async () => {
    const bus = new EventBus<Events>(memoryLogger().logger);
    let done = false;
    bus.subscribe('Happened', async () => {
      await new Promise((r) => setTimeout(r, 5));
      done = true;
    });
    await bus.publish('Happened', { n: 1 });
    expect(done).toBe(true);
  });

  it('logs a failing handler and still runs the others, without failing the publisher', async () => {
    const { logger, lines } = memoryLogger();
    const bus = new EventBus<Events>(logger);
    const seen: number[] = [];
    bus.subscribe(
      'Happened',
      () => {
        throw new Error('boom');
      },
      'thrower',
    );
    bus.subscribe('Happened', async () => Promise.reject(new Error('async boom')), 'rejecter');
    bus.subscribe('Happened', ({ n }) => {
      seen.push(n);
    });
    await expect(bus.publish('Happened', { n: 7 })).resolves.toBeUndefined();
    expect(seen).toEqual([7]);
    await new Promise((r) => setImmediate(r));
    const failures = lines.filter((l) => l.msg === 'event handler failed');
    expect(failures.map((l) => [l.event, l.handler])).toEqual([
      ['Happened', 'thrower'],
      ['Happened', 'rejecter'],
    ]);
  });

  it('does nothing for an event nobody listens to', async () => {
    const bus = new EventBus<Events>(memoryLogger().logger);
    await expect(bus.publish('Other', { s: 'x' })).resolves.toBeUndefined();
    expect(bus.handlerCount('Other')).toBe(0);
  });
});

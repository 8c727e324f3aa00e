// Concurrency shapes shared by the coordinator and the load processes (kept free of heavy imports, since
// every load process loads it).
import { performance } from 'node:perf_hooks';

/** Runs `fn` over `items` with `lanes` in parallel. */
export async function inLanes<T>(items: T[], lanes: number, fn: (item: T, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(lanes, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

/**
 * A closed loop: `lanes` lanes each run `step` again and again until `durationMs` have passed; each step's
 * latency is kept and the status it returns counted.
 */
export async function closedLoop(
  lanes: number,
  durationMs: number,
  step: () => Promise<string>,
): Promise<{ latencies: number[]; statuses: Record<string, number>; ms: number }> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const started = performance.now();
  const deadline = started + durationMs;
  const lane = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const status = await step();
      latencies.push(performance.now() - t0);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return { latencies, statuses, ms: performance.now() - started };
}

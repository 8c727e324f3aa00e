import { Coalescer } from '../../src/shared/coalesce';

describe('Coalescer', () => {
  it('answers concurrent gets with one batched load, and later gets with a new one', async () => {
    const loads: string[][] = [];
    const c = new Coalescer<string, number>(async (keys) => {
      loads.push([...keys]);
      return new Map(keys.filter((k) => k !== 'missing').map((k) => [k, k.length]));
    });
    const first = c.get('a');
    const rest = Promise.all([c.get('bb'), c.get('ccc'), c.get('bb'), c.get('missing')]);
    expect(await first).toBe(1);
    expect(await rest).toEqual([2, 3, 2, undefined]);
    // The first get starts a load alone; the others wait for it and share the next one.
    expect(loads).toEqual([['a'], ['bb', 'ccc', 'missing']]);
    expect(await c.get('dddd')).toBe(4);
    expect(loads).toHaveLength(3);
  });

  it('rejects the waiters of a failed load and keeps serving later ones', async () => {
    let fail = true;
    const c = new Coalescer<string, string>(async (keys) => {
      if (fail) throw new Error('down');
      return new Map(keys.map((k) => [k, k.toUpperCase()]));
    });
    await expect(c.get('x')).rejects.toThrow('down');
    fail = false;
    expect(await c.get('x')).toBe('X');
  });

  it('reads at most maxKeys keys per load', async () => {
    const sizes: number[] = [];
    const c = new Coalescer<number, number>(async (keys) => {
      sizes.push(keys.length);
      return new Map(keys.map((k) => [k, k * 2]));
    }, 3);
    const values = await Promise.all(Array.from({ length: 8 }, (_, i) => c.get(i)));
    expect(values).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3);
  });
});

import { LocalOptOuts } from '../../src/gateway/opt-outs';

/** A source whose reads the test answers one by one, in any order. */
class ManualSource {
  readonly calls: Array<{ ids: string[]; answer: (optedOut: string[]) => void; fail: (err: Error) => void }> =
    [];

  read = (ids: string[]): Promise<Set<string>> =>
    new Promise((resolve, reject) => {
      this.calls.push({ ids, answer: (out) => resolve(new Set(out)), fail: reject });
    });
}

const settle = () => new Promise((r) => setImmediate(r));

describe('LocalOptOuts', () => {
  it('reads the opt-outs of arriving users in one batch and skips those who opted out', async () => {
    const source = new ManualSource();
    const optOuts = new LocalOptOuts(source.read, () => undefined);
    optOuts.refresh('1');
    optOuts.refresh('2');
    optOuts.refresh('3');
    // Until the read answers, everyone counts as in.
    expect(['1', '2', '3'].map((id) => optOuts.has(id))).toEqual([false, false, false]);
    // The first read started at once; the two later arrivals wait for the next one, together.
    expect(source.calls.map((c) => c.ids)).toEqual([['1']]);
    source.calls[0].answer([]);
    await settle();
    expect(source.calls.map((c) => c.ids)).toEqual([['1'], ['2', '3']]);
    source.calls[1].answer(['3']);
    await settle();
    expect(['1', '2', '3'].map((id) => optOuts.has(id))).toEqual([false, false, true]);
  });

  it('applies a change notice at once and ignores a read that started before it', async () => {
    const source = new ManualSource();
    const optOuts = new LocalOptOuts(source.read, () => undefined);
    optOuts.refresh('7');
    optOuts.changed('7', true);
    expect(optOuts.has('7')).toBe(true);
    // The arrival's read answers "not opted out" after the notice: it is stale and dropped.
    source.calls[0].answer([]);
    await settle();
    expect(optOuts.has('7')).toBe(true);
    // The notice's own read ends on what is stored.
    source.calls[1].answer([]);
    await settle();
    expect(optOuts.has('7')).toBe(false);
  });

  it('ignores notices for users not connected here and forgets users who left', async () => {
    const source = new ManualSource();
    const errors: string[] = [];
    const optOuts = new LocalOptOuts(source.read, (_err, userId) => errors.push(userId));
    optOuts.changed('9', true);
    expect(optOuts.has('9')).toBe(false);
    expect(source.calls).toEqual([]);
    optOuts.refresh('8');
    optOuts.forget('8');
    source.calls[0].answer(['8']);
    await settle();
    expect(optOuts.has('8')).toBe(false);
    optOuts.refresh('8');
    source.calls[1].fail(new Error('db down'));
    await settle();
    expect(optOuts.has('8')).toBe(false);
    expect(errors).toEqual(['8']);
  });
});

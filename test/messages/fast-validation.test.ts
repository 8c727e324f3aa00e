import {
  historyRules,
  plainValidHistory,
  plainValidSend,
  sendRules,
} from '../../src/modules/messages/messages.routes';
import { runValidation } from '../../src/shared/validation';

/** Whether the express-validator chains accept the subject. */
async function chainsAccept(
  subject: { body?: unknown; params?: Record<string, unknown>; query?: Record<string, unknown> },
  chains: typeof sendRules,
): Promise<boolean> {
  try {
    await runValidation(structuredClone(subject), chains);
    return true;
  } catch {
    return false;
  }
}

// The shortcuts may only accept what the chains accept; they may send anything else on to the chains.
describe('plainValidHistory', () => {
  const cases: Array<[string, Record<string, unknown>, unknown]> = [
    ['p:1:2', {}, undefined],
    ['p:1:2', { limit: '20' }, undefined],
    ['g:7', { beforeSeq: '100', limit: '100' }, undefined],
    ['w:world', { afterSeq: '0' }, undefined],
    ['w:world', { afterSeq: '0', beforeSeq: '5' }, undefined],
    ['p:1:2', { beforeSeq: '0' }, undefined],
    ['p:1:2', { beforeSeq: '-1' }, undefined],
    ['p:1:2', { beforeSeq: '+5' }, undefined],
    ['p:1:2', { beforeSeq: '05' }, undefined],
    ['p:1:2', { beforeSeq: '1.5' }, undefined],
    ['p:1:2', { beforeSeq: '9007199254740992' }, undefined],
    ['p:1:2', { beforeSeq: '9007199254740991' }, undefined],
    ['p:1:2', { beforeSeq: ['1', '2'] }, undefined],
    ['p:1:2', { limit: '0' }, undefined],
    ['p:1:2', { limit: '101' }, undefined],
    ['p:1:2', { limit: '' }, undefined],
    ['p:1:2', { other: 'x' }, undefined],
    ['p:1:2', {}, { x: 1 }],
    ['p:1:2', {}, {}],
    ['p:0:2', {}, undefined],
    ['x:1', {}, undefined],
    ["p:1:2' OR 1=1", {}, undefined],
  ];

  it.each(cases)('never accepts what the chains refuse: %s %j %j', async (cid, query, body) => {
    const subject = { params: { cid }, query, body };
    const fast = plainValidHistory(subject);
    const full = await chainsAccept(subject, historyRules);
    if (fast) expect(full).toBe(true);
  });

  it('takes the shortcut for the common requests', () => {
    for (const query of [{}, { limit: '20' }, { beforeSeq: '4242', limit: '50' }, { afterSeq: '0' }]) {
      expect(plainValidHistory({ params: { cid: 'p:12:40' }, query })).toBe(true);
    }
    expect(plainValidHistory({ params: { cid: 'g:9' }, query: {}, body: {} })).toBe(true);
  });

  it('leaves both cursors, odd numbers and body fields to the chains', () => {
    expect(plainValidHistory({ params: { cid: 'p:1:2' }, query: { beforeSeq: '2', afterSeq: '1' } })).toBe(
      false,
    );
    expect(plainValidHistory({ params: { cid: 'p:1:2' }, query: { beforeSeq: '+2' } })).toBe(false);
    expect(plainValidHistory({ params: { cid: 'p:1:2' }, query: {}, body: { a: 1 } })).toBe(false);
  });
});

describe('plainValidSend', () => {
  const valid = { conversationId: 'p:1:2', type: 'text', content: { text: 'hi' }, clientMsgId: 'c-1' };
  const cases: unknown[] = [
    valid,
    { ...valid, conversationId: 'g:5', type: 'image', content: { url: 'https://x.test/a.png' } },
    { ...valid, extra: 1 },
    { ...valid, type: 'nope' },
    { ...valid, content: { text: '' } },
    { ...valid, content: null },
    { ...valid, clientMsgId: 'x'.repeat(65) },
    { ...valid, conversationId: 'p:1' },
    { conversationId: 'p:1:2', type: 'text', content: { text: 'hi' } },
    { ...valid, content: { text: 'hi', more: true } },
    [valid],
    null,
  ];

  it.each(cases)('never accepts what the chains refuse: %j', async (data) => {
    const fast = plainValidSend(data);
    const full = await chainsAccept({ body: data }, sendRules);
    if (fast) expect(full).toBe(true);
  });

  it('takes the shortcut for a plain text send', () => {
    expect(plainValidSend(valid)).toBe(true);
  });

  // 4000 code points of text, as the database and every other limit count, whatever their UTF-16 length.
  it.each([
    ['emoji', '😀'],
    ['variation selectors', '\uFE0F'],
    ['combining marks', '\u0301'],
    ['surrogate pairs', '𝒜'],
  ])('counts %s as the chains do: 4000 pass, 4001 do not', async (_label, unit) => {
    for (const [n, ok] of [
      [4000, true],
      [4001, false],
    ] as const) {
      const data = { ...valid, content: { text: `a${unit.repeat(n - 1)}` } };
      expect(plainValidSend(data)).toBe(ok);
      expect(await chainsAccept({ body: data }, sendRules)).toBe(ok);
    }
  });
});
